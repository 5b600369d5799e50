#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
/* virDomainQemuAgentCommand: the QEMU guest agent (exec and operation tests inside guests). */
#include <libvirt/libvirt-qemu.h>
