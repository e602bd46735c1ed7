package cgroups

import (
	"testing"
	"unsafe"
)

// TestBPFAttrLayout checks each attribute struct against its command's part of union bpf_attr
// (include/uapi/linux/bpf.h): a field at the wrong offset is read by the kernel as another field.
func TestBPFAttrLayout(t *testing.T) {
	var load bpfProgLoadAttr
	var attach bpfProgAttachAttr
	var query bpfProgQueryAttr
	var byID bpfGetFdByIDAttr
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"prog_load.insns", unsafe.Offsetof(load.insns), 8},
		{"prog_load.license", unsafe.Offsetof(load.license), 16},
		{"prog_load.log_level", unsafe.Offsetof(load.logLevel), 24},
		{"prog_load.log_buf", unsafe.Offsetof(load.logBuf), 32},
		{"prog_load.prog_name", unsafe.Offsetof(load.progName), 48},
		{"prog_load.expected_attach_type", unsafe.Offsetof(load.expectedAttachType), 68},
		{"prog_load size", unsafe.Sizeof(load), 72},
		{"attach.attach_flags", unsafe.Offsetof(attach.attachFlags), 12},
		{"attach.replace_bpf_fd", unsafe.Offsetof(attach.replaceBpfFd), 16},
		{"attach size", unsafe.Sizeof(attach), 20},
		{"query.attach_flags", unsafe.Offsetof(query.attachFlags), 12},
		{"query.prog_ids", unsafe.Offsetof(query.progIDs), 16},
		{"query.prog_cnt", unsafe.Offsetof(query.progCnt), 24},
		{"query size", unsafe.Sizeof(query), 32},
		{"get_fd_by_id.open_flags", unsafe.Offsetof(byID.openFlags), 8},
		{"get_fd_by_id size", unsafe.Sizeof(byID), 12},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s at %d, uapi has %d", tc.name, tc.got, tc.want)
		}
	}
}
