// VtapCollector on Azure: a scale set of collector VMs behind an internal Standard load balancer,
// fed by a virtual network TAP.
//
//   workload NICs ──TAP config──▶ virtual network TAP ──VXLAN UDP 4789──▶ internal load balancer
//                                                       (frontend IP)     │ rule UDP 4789, SourceIP affinity
//                                                                         │ probe HTTP 9464 /readyz
//                                          collector VM scale set ◀───────┘
//                                          (vtap-collector.service) ──▶ Kafka
//
// Each collector turns what it receives into flow records and publishes them to Kafka, the shared
// backbone: consumers read one topic whatever the number of collectors. The load balancer keeps
// one mirror source's traffic on one collector (SourceIP affinity), so both directions of a flow
// seen at one NIC meet in one collector, and takes a collector out of rotation while its /readyz
// fails (for example while its Kafka spool is over the watermark).
//
//   az deployment group create -g RG -f deploy/azure/main.bicep -p sshPublicKey="$(cat ~/.ssh/id_ed25519.pub)" \
//     packageUrl=https://.../vtap-collector_0.1.0-1_amd64.deb kafkaBootstrapServers=broker1:9092,broker2:9092
//
// deploy/azure/validate.sh compiles and lints this file offline.

@description('Region of every resource.')
param location string = resourceGroup().location

@description('Prefix of every resource name.')
param namePrefix string = 'vtap'

@description('Address space of the example virtual network.')
param vnetAddressPrefix string = '10.20.0.0/16'

@description('Subnet of the collectors and of the load balancer\'s frontend.')
param collectorSubnetPrefix string = '10.20.1.0/24'

@description('Subnet of the example workload whose NIC is tapped.')
param workloadSubnetPrefix string = '10.20.2.0/24'

@description('Address ranges of the tapped subnets: mirror traffic (UDP 4789) is admitted from these only, by the network security group and by the collector\'s own allow-list.')
param tappedSubnetPrefixes array = [
  workloadSubnetPrefix
]

@description('Address ranges allowed to scrape /metrics on port 9464 (Prometheus); the load balancer\'s probe is always allowed.')
param monitoringSourcePrefixes array = [
  collectorSubnetPrefix
]

@description('Collector VMs in the scale set.')
@minValue(1)
param instanceCount int = 2

@description('Collector VM size; accelerated networking needs 2 vCPUs or more.')
param vmSize string = 'Standard_D4s_v5'

@description('Managed image built by deploy/packer (the package baked in); empty: Debian 12, with the package installed at first boot from packageUrl.')
param imageId string = ''

@description('Where the VMs download vtap-collector_VERSION_amd64.deb when the image does not have it.')
param packageUrl string = ''

@description('Kafka bootstrap servers (host:port,...); empty: records go to files on each VM.')
param kafkaBootstrapServers string = ''

@description('Kafka topic of the flow records.')
param kafkaTopic string = 'vtap-flows'

@description('MTU of the collectors\' NIC: at least 1554 for the VXLAN copies of 1500-byte frames.')
@minValue(1554)
param nicMtu int = 3900

@description('Administrator of the collector VMs (SSH key only).')
param adminUsername string = 'azureuser'

@description('SSH public key of the administrator.')
@secure()
param sshPublicKey string

@description('Names of existing NICs in this resource group to tap.')
param tappedNicNames array = []

@description('Create an example workload NIC with a TAP configuration.')
param deployExampleWorkloadNic bool = true

var vxlanPort = 4789
var metricsPort = 9464

// The collector's settings for this deployment, as VTAP__ environment variables of the service
// (one Environment= line each, indented as the cloud-init file's block requires).
var allowListSettings = [for (prefix, i) in tappedSubnetPrefixes: 'Environment=VTAP__ALLOWLIST__SOURCECIDRS__${i}=${prefix}']
var kafkaSettings = empty(kafkaBootstrapServers) ? [] : [
  'Environment=VTAP__SINKS__KAFKA__ENABLED=true'
  'Environment=VTAP__SINKS__KAFKA__BOOTSTRAPSERVERS=${kafkaBootstrapServers}'
  'Environment=VTAP__SINKS__KAFKA__TOPIC=${kafkaTopic}'
  'Environment=VTAP__SINKS__FILE__ENABLED=false'
]
var settingsLines = join(concat(allowListSettings, kafkaSettings), '\n      ')
var cloudInit = replace(replace(replace(replace(loadTextContent('../cloud-init/vtap-collector.yaml'),
  '@SETTINGS@', settingsLines),
  '@PACKAGE_URL@', packageUrl),
  '@NIC_MTU@', string(nicMtu)),
  '@NIC@', 'eth0')

var imageReference = empty(imageId) ? {
  publisher: 'Debian'
  offer: 'debian-12'
  sku: '12-gen2'
  version: 'latest'
} : {
  id: imageId
}

// Mirror traffic from the tapped subnets and probes from the load balancer are allowed; the
// default rule that admits everything from the virtual network is overridden for both ports, so
// no other subnet can feed or read a collector.
resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${namePrefix}-collectors-nsg'
  location: location
  properties: {
    securityRules: [
      {
        name: 'allow-vxlan-from-tapped-subnets'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Udp'
          sourceAddressPrefixes: tappedSubnetPrefixes
          sourcePortRange: '*'
          destinationAddressPrefix: collectorSubnetPrefix
          destinationPortRange: string(vxlanPort)
        }
      }
      {
        name: 'allow-readyz-probe-from-load-balancer'
        properties: {
          priority: 110
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'AzureLoadBalancer'
          sourcePortRange: '*'
          destinationAddressPrefix: collectorSubnetPrefix
          destinationPortRange: string(metricsPort)
        }
      }
      {
        name: 'allow-metrics-from-monitoring'
        properties: {
          priority: 120
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefixes: monitoringSourcePrefixes
          sourcePortRange: '*'
          destinationAddressPrefix: collectorSubnetPrefix
          destinationPortRange: string(metricsPort)
        }
      }
      {
        name: 'deny-vxlan-from-rest-of-vnet'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: 'Udp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: string(vxlanPort)
        }
      }
      {
        name: 'deny-metrics-from-rest-of-vnet'
        properties: {
          priority: 4010
          direction: 'Inbound'
          access: 'Deny'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: string(metricsPort)
        }
      }
    ]
  }
}

// The collectors reach the Debian mirrors, the package URL and Kafka through a NAT gateway: an
// internal load balancer gives its backends no way out.
resource natIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: '${namePrefix}-nat-ip'
  location: location
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
  }
}

resource nat 'Microsoft.Network/natGateways@2024-05-01' = {
  name: '${namePrefix}-nat'
  location: location
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIpAddresses: [
      {
        id: natIp.id
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: '${namePrefix}-vnet'
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        vnetAddressPrefix
      ]
    }
    subnets: [
      {
        name: 'collectors'
        properties: {
          addressPrefix: collectorSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          natGateway: {
            id: nat.id
          }
        }
      }
      {
        name: 'workloads'
        properties: {
          addressPrefix: workloadSubnetPrefix
        }
      }
    ]
  }
}

resource collectorSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: 'collectors'
}

resource workloadSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: 'workloads'
}

var lbName = '${namePrefix}-collectors-lb'

resource lb 'Microsoft.Network/loadBalancers@2024-05-01' = {
  name: lbName
  location: location
  sku: {
    name: 'Standard'
  }
  properties: {
    frontendIPConfigurations: [
      {
        name: 'vxlan'
        properties: {
          privateIPAllocationMethod: 'Dynamic'
          subnet: {
            id: collectorSubnet.id
          }
        }
      }
    ]
    backendAddressPools: [
      {
        name: 'collectors'
      }
    ]
    probes: [
      {
        name: 'readyz'
        properties: {
          protocol: 'Http'
          port: metricsPort
          requestPath: '/readyz'
          intervalInSeconds: 5
          probeThreshold: 2
        }
      }
    ]
    loadBalancingRules: [
      {
        name: 'vxlan'
        properties: {
          protocol: 'Udp'
          frontendPort: vxlanPort
          backendPort: vxlanPort
          // One mirror source to one collector: a flow's two directions seen at a NIC stay together.
          loadDistribution: 'SourceIP'
          enableFloatingIP: false
          disableOutboundSnat: true
          frontendIPConfiguration: {
            id: resourceId('Microsoft.Network/loadBalancers/frontendIPConfigurations', lbName, 'vxlan')
          }
          backendAddressPool: {
            id: resourceId('Microsoft.Network/loadBalancers/backendAddressPools', lbName, 'collectors')
          }
          probe: {
            id: resourceId('Microsoft.Network/loadBalancers/probes', lbName, 'readyz')
          }
        }
      }
    ]
  }
}

resource collectors 'Microsoft.Compute/virtualMachineScaleSets@2024-07-01' = {
  name: '${namePrefix}-collectors'
  location: location
  sku: {
    name: vmSize
    tier: 'Standard'
    capacity: instanceCount
  }
  properties: {
    orchestrationMode: 'Uniform'
    overprovision: false
    // A new package or setting rolls out one VM at a time; the next VM waits until the previous
    // one answers /readyz again.
    upgradePolicy: {
      mode: 'Rolling'
      rollingUpgradePolicy: {
        maxBatchInstancePercent: 20
        maxUnhealthyInstancePercent: 20
        maxUnhealthyUpgradedInstancePercent: 20
        pauseTimeBetweenBatches: 'PT30S'
      }
    }
    automaticRepairsPolicy: {
      enabled: true
      gracePeriod: 'PT10M'
    }
    virtualMachineProfile: {
      storageProfile: {
        imageReference: imageReference
        osDisk: {
          createOption: 'FromImage'
          caching: 'ReadWrite'
          managedDisk: {
            storageAccountType: 'Premium_LRS'
          }
        }
      }
      osProfile: {
        computerNamePrefix: '${namePrefix}col'
        adminUsername: adminUsername
        customData: base64(cloudInit)
        linuxConfiguration: {
          disablePasswordAuthentication: true
          ssh: {
            publicKeys: [
              {
                path: '/home/${adminUsername}/.ssh/authorized_keys'
                keyData: sshPublicKey
              }
            ]
          }
        }
      }
      networkProfile: {
        healthProbe: {
          id: resourceId('Microsoft.Network/loadBalancers/probes', lbName, 'readyz')
        }
        networkInterfaceConfigurations: [
          {
            name: 'nic'
            properties: {
              primary: true
              enableAcceleratedNetworking: true
              ipConfigurations: [
                {
                  name: 'ipconfig'
                  properties: {
                    subnet: {
                      id: collectorSubnet.id
                    }
                    loadBalancerBackendAddressPools: [
                      {
                        id: resourceId('Microsoft.Network/loadBalancers/backendAddressPools', lbName, 'collectors')
                      }
                    ]
                  }
                }
              ]
            }
          }
        ]
      }
    }
  }
  dependsOn: [
    lb
  ]
}

// The virtual network TAP: mirrored packets go, VXLAN-encapsulated, to the load balancer's
// frontend, which spreads them over the collectors.
resource vtap 'Microsoft.Network/virtualNetworkTaps@2024-05-01' = {
  name: '${namePrefix}-tap'
  location: location
  properties: {
    destinationLoadBalancerFrontEndIPConfiguration: {
      id: lb.properties.frontendIPConfigurations[0].id
    }
    destinationPort: vxlanPort
  }
}

// An example workload NIC whose traffic is mirrored; tap your own NICs with tappedNicNames.
resource workloadNic 'Microsoft.Network/networkInterfaces@2024-05-01' = if (deployExampleWorkloadNic) {
  name: '${namePrefix}-workload-nic'
  location: location
  properties: {
    ipConfigurations: [
      {
        name: 'ipconfig'
        properties: {
          privateIPAllocationMethod: 'Dynamic'
          subnet: {
            id: workloadSubnet.id
          }
        }
      }
    ]
  }
}

resource workloadTap 'Microsoft.Network/networkInterfaces/tapConfigurations@2024-05-01' = if (deployExampleWorkloadNic) {
  parent: workloadNic
  name: 'vtap'
  properties: {
    virtualNetworkTap: {
      id: vtap.id
    }
  }
}

resource tappedNics 'Microsoft.Network/networkInterfaces@2024-05-01' existing = [for name in tappedNicNames: {
  name: name
}]

resource tappedNicTaps 'Microsoft.Network/networkInterfaces/tapConfigurations@2024-05-01' = [for (name, i) in tappedNicNames: {
  parent: tappedNics[i]
  name: 'vtap'
  properties: {
    virtualNetworkTap: {
      id: vtap.id
    }
  }
}]

@description('The address the TAP sends to: the load balancer\'s frontend.')
output frontendIp string = lb.properties.frontendIPConfigurations[0].properties.privateIPAddress

@description('Resource id of the virtual network TAP, for TAP configurations on more NICs.')
output virtualNetworkTapId string = vtap.id
