/* sigrelay: the C signal handler of a foreground `rt run` / `rt exec` (sigrelay.go says why it is C). */
#ifndef RT_SIGRELAY_H
#define RT_SIGRELAY_H

/* rt_catch_signals makes every signal rt forwards (and SIGCHLD, SIGWINCH) write its number, one byte, to fd.
 * Returns 0; EBUSY when called before in this process; or the errno of the sigaction(2) that failed, with every
 * handler it had set put back. */
int rt_catch_signals(int fd);

#endif
