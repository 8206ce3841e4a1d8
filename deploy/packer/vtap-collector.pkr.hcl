# A marketplace-style VM image with VtapCollector baked in: Debian 12 with the .deb installed, the
# NIC tuning enabled for eth0, and the service enabled, so a VM or scale set made from it collects
# as soon as it boots. Per-deployment settings (allow-list, Kafka) come at deployment time from
# deploy/cloud-init/vtap-collector.yaml, which skips the package download when it finds the
# package installed.
#
#   packaging/build-deb.sh --output dist
#   cd deploy/packer && packer init . && packer build \
#     -var subscription_id=... -var resource_group=images -var deb=../../dist/vtap-collector_0.1.0-1_amd64.deb .
# Authentication: the Azure CLI's login (az login).

variable "subscription_id" {
  type        = string
  description = "Azure subscription that holds the image."
}

variable "resource_group" {
  type        = string
  description = "Existing resource group the managed image is written to."
}

variable "location" {
  type    = string
  default = "westeurope"
}

variable "deb" {
  type        = string
  description = "Path of the vtap-collector .deb to install (packaging/build-deb.sh prints it)."
}

variable "image_name" {
  type    = string
  default = "vtap-collector"
}

variable "vm_size" {
  type    = string
  default = "Standard_D2s_v5"
}

source "azure-arm" "debian12" {
  use_azure_cli_auth                = true
  subscription_id                   = var.subscription_id
  location                          = var.location
  vm_size                           = var.vm_size
  os_type                           = "Linux"
  image_publisher                   = "Debian"
  image_offer                       = "debian-12"
  image_sku                         = "12-gen2"
  managed_image_resource_group_name = var.resource_group
  managed_image_name                = "${var.image_name}-${formatdate("YYYYMMDDhhmm", timestamp())}"
  azure_tags = {
    application = "vtap-collector"
  }
}

build {
  sources = ["source.azure-arm.debian12"]

  provisioner "file" {
    source      = var.deb
    destination = "/tmp/vtap-collector.deb"
  }

  # Installing starts the service once; it is stopped again and its state emptied, so every VM
  # made from the image starts with no records and no spool.
  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; sudo sh -eux {{ .Path }}"
    inline = [
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update",
      "apt-get install -y --no-install-recommends ethtool curl /tmp/vtap-collector.deb",
      "rm -f /tmp/vtap-collector.deb",
      "/usr/bin/vtap-collector --version",
      "/usr/bin/vtap-collector run --check",
      "systemctl enable vtap-collector.service vtap-collector-tune-nic@eth0.service",
      "systemctl stop vtap-collector.service",
      "find /var/lib/vtap-collector -mindepth 1 -delete",
      "apt-get clean",
    ]
  }

  # Generalize: cloud-init runs again on the first boot of each VM, the Azure agent (if present)
  # forgets this build VM's identity.
  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; sudo sh -eux {{ .Path }}"
    inline = [
      "cloud-init clean --logs --seed",
      "if command -v waagent >/dev/null; then waagent -force -deprovision+user; fi",
      "sync",
    ]
  }
}
