SUMMARY = "Reference wellgate gateway image"
DESCRIPTION = "A small systemd image with the wellgate stack enabled at boot and an SSH \
               server for the technician; the reference machine is qemuarm64 \
               (kas/wellgate-qemuarm64.yml), any machine with a kernel and a bootloader \
               can build it."
LICENSE = "MIT"

# The units are systemd units (Type=notify, sandboxing): no sysvinit variant.
REQUIRED_DISTRO_FEATURES = "systemd usrmerge"

inherit core-image features_check

IMAGE_FEATURES += "ssh-server-dropbear"
IMAGE_INSTALL += "packagegroup-wellgate"

# Room for months of 1 Hz history on the data partition (in KiB): the historian
# stores about one byte per point, and the ring lives in /run (RAM).
IMAGE_ROOTFS_EXTRA_SPACE = "524288"
