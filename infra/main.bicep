// liveperson-archiver: Flex Consumption function app + storage (write-once archive), identity, monitoring,
// Key Vault for LivePerson secrets. Plain resources (no registry modules) so it reviews and builds offline.
// Deploy: az deployment group create -g <rg> -f infra/main.bicep -p name=<prefix> lpAccountId=<id>
// Then: see infra/README.md (publish code, create the Event Grid subscription, store the secrets).

targetScope = 'resourceGroup'

@description('Short lowercase prefix for resource names (3-11 letters/digits).')
@minLength(3)
@maxLength(11)
param name string

param location string = resourceGroup().location

@description('LivePerson account (site) id.')
param lpAccountId string

@description('NCRONTAB schedule of discovery (6 fields).')
param discoverySchedule string = '0 */5 * * * *'

@description('Days of history to archive on the first run (max 395, LivePerson keeps 13 months).')
@minValue(1)
@maxValue(395)
param backfillDays int = 30

@description('Archive open conversations older than this many hours as interim versions; empty = never.')
param archiveOpenAfterHours string = ''

@description('Days each archived blob version is locked (WORM) by the container default policy; 0 = no default policy.')
param immutabilityDays int = 0

var suffix = uniqueString(resourceGroup().id, name)
var storageName = toLower('st${name}${take(suffix, 8)}')
var archiveContainer = 'archive'
var archiveQueue = 'archive-conversations'
var deploymentContainer = 'app-package'

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${name}-${suffix}'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    allowSharedKeyAccess: false // identity only: no account keys to leak
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Version-level immutability needs versioning; soft delete guards against accidental container deletes.
    isVersioningEnabled: true
    containerDeleteRetentionPolicy: { enabled: true, days: 30 }
    deleteRetentionPolicy: { enabled: true, days: 30 }
  }
}

resource archive 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: archiveContainer
  properties: {
    publicAccess: 'None'
    // Version-level WORM support: each archived version can be locked (time-based retention / legal hold).
    immutableStorageWithVersioning: { enabled: true }
  }
}

resource archivePolicy 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (immutabilityDays > 0) {
  parent: archive
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: archiveQueue
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${archiveQueue}-poison'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource statusTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: 'archivestatus'
}

resource watermarkTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: 'discoverywatermarks'
}

resource failureTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: 'archivefailures'
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${name}-${suffix}'
  location: location
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 90 }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true // ingestion with the app's identity only
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${name}-${take(suffix, 8)}'
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}-${suffix}'
  location: location
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

var kvRef = 'https://${vault.name}${environment().suffixes.keyvaultDns}/secrets'

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${name}-${suffix}'
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identity.id }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 }
      runtime: { name: 'node', version: '22' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        // Host storage and every binding's `connection: 'AzureWebJobsStorage'`, identity-based.
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        // The app's own settings (lib/config.ts); names referenced by bindings as %SETTING%.
        { name: 'DISCOVERY_SCHEDULE', value: discoverySchedule }
        { name: 'BACKFILL_DAYS', value: string(backfillDays) }
        { name: 'DISCOVERY_OVERLAP_MINUTES', value: '15' }
        { name: 'ARCHIVE_OPEN_AFTER_HOURS', value: archiveOpenAfterHours }
        { name: 'DISCOVERY_ENQUEUE_CONCURRENCY', value: '16' }
        { name: 'ARCHIVE_GROUP_SIZE', value: '100' }
        { name: 'ARCHIVE_GROUP_CONCURRENCY', value: '4' }
        { name: 'ARCHIVE_MAX_ATTEMPTS', value: '5' }
        { name: 'ARCHIVE_RETRY_DELAY_SECONDS', value: '60' }
        { name: 'ARCHIVE_QUEUE', value: archiveQueue }
        { name: 'ARCHIVE_CONTAINER', value: archiveContainer }
        { name: 'STATUS_TABLE', value: statusTable.name }
        { name: 'WATERMARK_TABLE', value: watermarkTable.name }
        { name: 'FAILURE_TABLE', value: failureTable.name }
        { name: 'ARCHIVE_ADDRESS_DOMAIN', value: '' }
        { name: 'MESSAGE_ID_DOMAIN', value: '' }
        // LivePerson (lib/liveperson/config.ts). Secrets are Key Vault references, resolved by the platform.
        { name: 'LP_ACCOUNT_ID', value: lpAccountId }
        { name: 'LP_APP_KEY', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-app-key/)' }
        { name: 'LP_APP_SECRET', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-app-secret/)' }
        { name: 'LP_ACCESS_TOKEN', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-access-token/)' }
        { name: 'LP_ACCESS_TOKEN_SECRET', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-access-token-secret/)' }
        { name: 'LP_CLIENT_ID', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-client-id/)' }
        { name: 'LP_CLIENT_SECRET', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-client-secret/)' }
      ]
    }
  }
  dependsOn: [roleBlob, roleQueue, roleTable, roleKv]
}

// Role assignments for the app's identity (data plane only; no keys anywhere).
resource roleBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

resource roleQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource roleTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

resource roleMetrics 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: insights
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource roleKv 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Event Grid system topic on the storage account. The subscription that drives the `recordStatus` blob
// trigger needs the function's `blobs_extension` key, which exists only after the code is published, so it
// is created after deploy (infra/README.md, step 3).
resource storageTopic 'Microsoft.EventGrid/systemTopics@2024-06-01-preview' = {
  name: 'evgt-${name}-${suffix}'
  location: location
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output functionAppName string = site.name
output storageAccountName string = storage.name
output eventGridTopicName string = storageTopic.name
output keyVaultName string = vault.name
output archiveContainer string = archiveContainer
