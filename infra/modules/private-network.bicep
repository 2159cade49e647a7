// Optional private networking (main.bicep, privateNetworking=true): a virtual network with a subnet the
// Flex Consumption app joins (delegated to Microsoft.App/environments) and a subnet of private endpoints
// for the host account (blob, queue, table) and the archive account (blob), with their private DNS zones.
// The storage accounts then deny public traffic except trusted Azure services and the allowed IP ranges.

param name string
param suffix string
param location string
param tags object
@description('Address space; split into two halves: app subnet and private-endpoint subnet.')
param addressPrefix string
param hostStorageId string
param archiveStorageId string

var dnsServices = ['blob', 'queue', 'table']
// zone: index of the service's private DNS zone in dnsServices.
var endpoints = [
  { key: 'host-blob', storageId: hostStorageId, service: 'blob', zone: 0 }
  { key: 'host-queue', storageId: hostStorageId, service: 'queue', zone: 1 }
  { key: 'host-table', storageId: hostStorageId, service: 'table', zone: 2 }
  { key: 'archive-blob', storageId: archiveStorageId, service: 'blob', zone: 0 }
]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: 'vnet-${name}-${suffix}'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, int(split(addressPrefix, '/')[1]) + 1, 0)
          delegations: [{ name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
      {
        name: 'endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, int(split(addressPrefix, '/')[1]) + 1, 1)
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for service in dnsServices: {
    name: 'privatelink.${service}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (service, i) in dnsServices: {
    parent: zones[i]
    name: 'link-${name}'
    location: 'global'
    properties: {
      registrationEnabled: false
      virtualNetwork: { id: vnet.id }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for ep in endpoints: {
    name: 'pe-${ep.key}-${name}-${suffix}'
    location: location
    tags: tags
    properties: {
      subnet: { id: vnet.properties.subnets[1].id }
      privateLinkServiceConnections: [
        {
          name: ep.key
          properties: { privateLinkServiceId: ep.storageId, groupIds: [ep.service] }
        }
      ]
    }
  }
]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (ep, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: ep.service
          properties: { privateDnsZoneId: zones[ep.zone].id }
        }
      ]
    }
  }
]

output appSubnetId string = vnet.properties.subnets[0].id
