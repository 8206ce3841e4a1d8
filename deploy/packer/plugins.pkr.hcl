# The Azure builder is a plugin in Packer 1.7 and later: `packer init .` installs it.
# (Kept apart from vtap-collector.pkr.hcl so that the template itself also validates with older
# Packer releases that have the builder built in and do not know required_plugins.)
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    azure = {
      source  = "github.com/hashicorp/azure"
      version = ">= 2.1.0"
    }
  }
}
