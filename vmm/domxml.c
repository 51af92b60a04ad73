/* Domain XML for an instance. Kept free of libvirt calls so golden-file
 * tests can check it without a hypervisor. */
#include <stdio.h>
#include <string.h>

#include "vmm/vmm.h"

static void esc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '\'': buf_adds(b, "&apos;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		default: buf_addc(b, *s);
		}
	}
}

static void entry(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, "      <entry name='%s'>", name);
	esc(b, value);
	buf_adds(b, "</entry>\n");
}

/* One argument for QEMU's guestfwd "cmd:" string, which libslirp splits
 * with g_shell_parse_argv: single-quoted, with ' as '\''. Commas double,
 * as QEMU's option parser wants. */
static void slirp_arg(struct buf *o, const char *a)
{
	buf_addc(o, '\'');
	for (; *a; a++) {
		if (*a == '\'')
			buf_adds(o, "'\\''");
		else if (*a == ',')
			buf_adds(o, ",,");
		else
			buf_addc(o, *a);
	}
	buf_addc(o, '\'');
}

/* The NIC sits at a fixed PCI slot: QEMU may create it before the devices
 * libvirt placed, and must not take one of their slots. */
static void imds_nic(struct buf *b, const struct vmm_spec *s)
{
	struct buf nd = BUF_INIT;

	buf_adds(&nd, "user,id=imds0,restrict=on,net=169.254.0.0/16,host=169.254.0.1,dhcpstart=169.254.0.15,"
		      "guestfwd=tcp:169.254.169.254:80-cmd:");
	for (size_t i = 0; s->imds_argv[i]; i++) {
		if (i)
			buf_addc(&nd, ' ');
		slirp_arg(&nd, s->imds_argv[i]);
	}
	buf_adds(b, "  <qemu:commandline>\n    <qemu:arg value='-netdev'/>\n    <qemu:arg value='");
	esc(b, nd.data);
	buf_adds(b, "'/>\n    <qemu:arg value='-device'/>\n    <qemu:arg value='virtio-net-pci,netdev=imds0,bus=pci.0,addr=0x1e");
	if (s->mac) {
		buf_adds(b, ",mac=");
		esc(b, s->mac);
	}
	buf_adds(b, "'/>\n  </qemu:commandline>\n");
	buf_free(&nd);
}

/* A NIC on a tap hostd made: libvirt opens it and never creates or
 * deletes it (managed='no'). */
static void nic_xml(struct buf *b, const struct vmm_nic *n, const char *ind)
{
	buf_printf(b, "%s<interface type='ethernet'>\n%s  <mac address='", ind, ind);
	esc(b, n->mac);
	buf_printf(b, "'/>\n%s  <target dev='", ind);
	esc(b, n->tap);
	buf_printf(b, "' managed='no'/>\n%s  <model type='virtio'/>\n%s</interface>\n", ind, ind);
}

void vmm_nic_xml(const struct vmm_nic *n, struct buf *out) { nic_xml(out, n, ""); }

void vmm_disk_xml(const struct vmm_disk *d, struct buf *b)
{
	char num[32];

	buf_adds(b, "    <disk type='file' device='disk'>\n"
		    "      <driver name='qemu' type='qcow2' discard='unmap'/>\n      <source file='");
	esc(b, d->path);
	buf_adds(b, "'/>\n      <target dev='");
	esc(b, d->target);
	buf_adds(b, "' bus='virtio'/>\n");
	if (d->iops > 0 || d->bytes_sec > 0) {
		buf_adds(b, "      <iotune>\n");
		if (d->bytes_sec > 0) {
			snprintf(num, sizeof(num), "%lld", d->bytes_sec);
			buf_adds(b, "        <total_bytes_sec>");
			buf_adds(b, num);
			buf_adds(b, "</total_bytes_sec>\n");
		}
		if (d->iops > 0) {
			snprintf(num, sizeof(num), "%lld", d->iops);
			buf_adds(b, "        <total_iops_sec>");
			buf_adds(b, num);
			buf_adds(b, "</total_iops_sec>\n");
		}
		buf_adds(b, "      </iotune>\n");
	}
	if (d->serial) {
		buf_adds(b, "      <serial>");
		esc(b, d->serial);
		buf_adds(b, "</serial>\n");
	}
	if (d->readonly)
		buf_adds(b, "      <readonly/>\n");
	buf_adds(b, "    </disk>\n");
}

void vmm_domain_xml(const struct vmm_spec *s, struct buf *b)
{
	bool kvm = s->accel == VMM_ACCEL_KVM;

	buf_printf(b, "<domain type='%s'%s>\n", kvm ? "kvm" : "qemu",
		   s->imds_argv ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" : "");
	buf_adds(b, "  <name>");
	esc(b, s->name);
	buf_adds(b, "</name>\n  <uuid>");
	esc(b, s->uuid);
	buf_adds(b, "</uuid>\n  <title>hostd instance ");
	esc(b, s->name);
	buf_adds(b, "</title>\n");
	buf_printf(b, "  <memory unit='MiB'>%ld</memory>\n", s->memory_mib);
	buf_printf(b, "  <vcpu placement='static'>%d</vcpu>\n", s->vcpus);
	/* What cloud-init and ec2 tooling read to recognise EC2: the system
	 * uuid and serial start with "ec2", the vendor is "Amazon EC2", the
	 * product is the instance type and the board's asset tag is the
	 * instance id (as on Nitro). */
	buf_adds(b, "  <sysinfo type='smbios'>\n    <bios>\n");
	entry(b, "vendor", "Amazon EC2");
	entry(b, "version", "1.0");
	buf_adds(b, "    </bios>\n    <system>\n");
	entry(b, "manufacturer", "Amazon EC2");
	entry(b, "product", s->instance_type);
	entry(b, "version", "1.0");
	entry(b, "serial", s->uuid);
	entry(b, "uuid", s->uuid);
	entry(b, "family", "Virtual Machine");
	buf_adds(b, "    </system>\n    <baseBoard>\n");
	entry(b, "manufacturer", "Amazon EC2");
	entry(b, "product", s->instance_type);
	entry(b, "asset", s->name);
	buf_adds(b, "    </baseBoard>\n    <chassis>\n");
	entry(b, "manufacturer", "Amazon EC2");
	entry(b, "asset", "Amazon EC2");
	buf_adds(b, "    </chassis>\n  </sysinfo>\n");
	buf_adds(b, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n"
		    "    <boot dev='hd'/>\n    <smbios mode='sysinfo'/>\n  </os>\n");
	buf_adds(b, "  <features>\n    <acpi/>\n    <apic/>\n");
	/* QEMU's default TCG cache is 1 GiB per guest; a small one keeps many
	 * emulated guests within the host's memory. */
	if (!kvm)
		buf_printf(b, "    <tcg>\n      <tb-cache unit='MiB'>%d</tb-cache>\n    </tcg>\n",
			   s->tb_cache_mib > 0 ? s->tb_cache_mib : 64);
	buf_adds(b, "  </features>\n");
	if (kvm)
		buf_adds(b, "  <cpu mode='host-passthrough' check='none'/>\n");
	buf_adds(b, "  <clock offset='utc'/>\n");
	/* A guest poweroff ends the domain; hostd's reconciler then applies
	 * InstanceInitiatedShutdownBehavior. */
	buf_adds(b, "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
		    "  <on_crash>destroy</on_crash>\n");
	buf_adds(b, "  <devices>\n");
	for (size_t i = 0; i < s->ndisks; i++)
		vmm_disk_xml(&s->disks[i], b);
	for (size_t i = 0; i < s->nnics; i++)
		nic_xml(b, &s->nics[i], "    ");
	buf_adds(b, "    <serial type='file'>\n      <source path='");
	esc(b, s->console_log);
	buf_adds(b, "' append='on'/>\n      <target port='0'/>\n    </serial>\n");
	buf_adds(b, "    <video>\n      <model type='vga' vram='16384' heads='1'/>\n    </video>\n");
	/* No USB controller: nothing uses it, and SeaBIOS spends boot time
	 * probing its ports (noticeable under TCG). */
	buf_adds(b, "    <controller type='usb' model='none'/>\n");
	buf_adds(b, "    <memballoon model='none'/>\n");
	buf_adds(b, "    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>\n");
	buf_adds(b, "  </devices>\n");
	if (s->imds_argv)
		imds_nic(b, s);
	buf_adds(b, "</domain>\n");
}
