package main

import "errors"

func perfSplit(args []string) error { return errors.New("todo") }
