// liveperson-archiver: Flex Consumption function app, host storage, a separate write-once archive account,
// identity, Key Vault, monitoring with alerts, App Service Authentication for the admin endpoints.
// Plain resources (no registry modules) so it reviews and checks offline (test/infra, test/functions).
// One command: `azd up` (azure.yaml). By hand: az deployment group create -g <rg> -f infra/main.bicep -p name=<env>
// lpAccountId=<id>, then publish the code and run infra/hooks/eventgrid-subscriptions.ts (infra/README.md).

targetScope = 'resourceGroup'

@description('Environment name (azd: AZURE_ENV_NAME). Letters, digits and hyphens; used in every resource name.')
@minLength(2)
@maxLength(40)
param name string

@description('Azure region of every resource (Flex Consumption must be offered there).')
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

@description('''Days each archived blob version is write-protected (WORM) by the archive container's default
time-based retention policy; 0 = no policy (not recommended). Default 2557 days = 7 years: above SEC 17a-4(b)(4)
(3 years for business communications) and FINRA 4511(b) (6 years where no other period applies).''')
@minValue(0)
@maxValue(146000)
param immutabilityDays int = 2557

@description('''Set true once you have locked the policy (infra/README.md). A locked policy can only be extended
(az storage container immutability-policy extend); the template then leaves it alone instead of failing to
re-create it.''')
param immutabilityPolicyLocked bool = false

@description('How the admin endpoints (/api/log, /api/log/summary, /api/status) are protected: "entra" = App Service Authentication (Microsoft Entra ID sign-in); "none" = function keys only on the /api/automation/* routes.')
@allowed(['entra', 'none'])
param adminSignIn string = 'entra'

@description('Client (application) id of the Entra app registration used for sign-in. Empty with adminSignIn=entra: every signed-in route answers 401 until it is set.')
param authClientId string = ''

@description('Object id of the Entra security group whose members may use the admin endpoints; empty = any account of the tenant that can sign in to the app registration.')
param adminAllowedGroup string = ''

@description('Microsoft 365 delivery: tenant id. Empty = delivery off (no GRAPH_* settings are set).')
param graphTenantId string = ''

@description('Client id of the app registration that calls Microsoft Graph (graphCredential secret or certificate).')
param graphClientId string = ''

@description('How the app authenticates to Graph: a client secret or a PEM certificate (both read from Key Vault secrets graph-client-secret / graph-client-certificate), or the app\'s managed identity.')
@allowed(['secret', 'certificate', 'managedidentity'])
param graphCredential string = 'certificate'

@description('importMime (Graph beta mailFolder: importMime, non-draft items, full MIME) or json (v1.0 create with PR_MESSAGE_FLAGS and upload sessions).')
@allowed(['importMime', 'json'])
param graphImportMode string = 'importMime'

@description('Mail folder (under the Inbox) that receives the items.')
param mailboxFolder string = 'LivePerson Conversational Cloud DataParser'

@description('Comma-separated e-mail domains of your tenant: participants in these domains get the item in their mailbox.')
param tenantDomains string = ''

@description('Mailbox that receives items no participant mailbox was found for; empty = recorded "unmapped".')
param fallbackMailbox string = ''

@description('container/path of a CSV (LivePerson user → Microsoft 365 address) in the host storage account; empty = none.')
param mailboxMappingBlob string = ''

@description('Deliver items to the mailboxes of consumers too (only when their address is in tenantDomains).')
param deliverToConsumers bool = false

@description('E-mail address that receives the alerts (failed items, discovery lag); empty = alert rules without a notification.')
param alertEmail string = ''

@description('Private networking: storage reachable only through private endpoints in a new virtual network (plus trusted Azure services and allowedIpRanges); the app joins that network.')
param privateNetworking bool = false

@description('With privateNetworking: public IP ranges (CIDR) that may still reach the storage accounts, e.g. your admin workstation.')
param allowedIpRanges array = []

@description('With privateNetworking: address space of the new virtual network (a /16 or /24 is split into two subnets).')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Maximum instances of the Flex Consumption app (40-1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

var suffix = uniqueString(resourceGroup().id, name)
var envName = toLower(name)
var short = take(replace(replace(replace(envName, '-', ''), '_', ''), '.', ''), 8)
var tags = { 'azd-env-name': name }
var hostStorageName = 'sth${short}${take(suffix, 10)}'
var archiveStorageName = 'sta${short}${take(suffix, 10)}'
var archiveContainerName = 'archive'
var archiveQueueName = 'archive-conversations'
var deliveryQueueName = 'mailbox-deliveries'
var deliveryPlanQueueName = 'mailbox-plans'
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'
var signInEnabled = adminSignIn == 'entra'
var deliveryEnabled = !empty(graphTenantId)

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

// The archive writer: create new blobs and read them, nothing else. No blobs/write (so no overwrite or
// metadata change of an existing blob), no delete of blobs or versions, no container create/delete, no
// immutability override (immutableStorage/runAsSuperUser), no tags, no permission changes.
var archiveWriterDataActions = [
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${envName}-${suffix}'
  location: location
  tags: tags
}

module network 'modules/private-network.bicep' = if (privateNetworking) {
  name: 'private-network'
  params: {
    name: envName
    suffix: suffix
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    hostStorageId: hostStorage.id
    archiveStorageId: archiveStorage.id
  }
}

var storageNetworkAcls = privateNetworking
  ? {
      defaultAction: 'Deny'
      bypass: 'AzureServices' // Event Grid dead-lettering with its managed identity is a trusted service
      ipRules: map(allowedIpRanges, range => { value: range, action: 'Allow' })
      virtualNetworkRules: []
    }
  : { defaultAction: 'Allow', bypass: 'AzureServices' }

// ---------------------------------------------------------------------------------------------------
// Host storage: the Functions host, queues, tables, the deployment package, Event Grid dead letters.
// ---------------------------------------------------------------------------------------------------
resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostStorageName
  location: location
  tags: tags
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    allowSharedKeyAccess: false // identity only: no account keys to leak
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: storageNetworkAcls
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource packagesContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deadLetterContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

// Each queue with its poison queue: the host moves a message there after maxDequeueCount attempts.
resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for q in [
    archiveQueueName
    '${archiveQueueName}-poison'
    deliveryPlanQueueName
    '${deliveryPlanQueueName}-poison'
    deliveryQueueName
    '${deliveryQueueName}-poison'
  ]: {
    parent: queueService
    name: q
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

var tableNames = {
  status: 'archivestatus'
  watermark: 'discoverywatermarks'
  failure: 'archivefailures'
  mailbox: 'mailboxcache'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for t in items(tableNames): {
    parent: tableService
    name: t.value
  }
]

// ---------------------------------------------------------------------------------------------------
// Archive storage: its own account, the app may only create and read blobs there (custom role below).
// ---------------------------------------------------------------------------------------------------
resource archiveStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: archiveStorageName
  location: location
  tags: tags
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: storageNetworkAcls
  }
}

resource archiveBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: archiveStorage
  name: 'default'
  properties: {
    // Version-level immutability needs versioning; soft delete guards against accidental deletes by admins.
    isVersioningEnabled: true
    containerDeleteRetentionPolicy: { enabled: true, days: 30 }
    deleteRetentionPolicy: { enabled: true, days: 30 }
  }
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: archiveBlobService
  name: archiveContainerName
  properties: {
    publicAccess: 'None'
    // Version-level WORM: every archived version is locked by the default policy below (and legal holds).
    immutableStorageWithVersioning: { enabled: true }
  }
}

// Default time-based retention for every new blob version. Starts unlocked (it can still be shortened or
// removed by an admin); lock it once checked (infra/README.md). After locking set immutabilityPolicyLocked.
resource archivePolicy 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (immutabilityDays > 0 && !immutabilityPolicyLocked) {
  parent: archiveContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

// Event Grid system topic on the archive account: BlobCreated of each .eml drives recordStatus. The
// subscription needs the function's eventgrid_extension key, which exists only once the code is published,
// so infra/hooks/eventgrid-subscriptions.ts creates it after deploy (azd postdeploy hook). The topic's own
// identity writes undeliverable events to the dead-letter container (shared keys are off).
resource archiveTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: 'evgt-${envName}-${suffix}'
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: archiveStorage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// ---------------------------------------------------------------------------------------------------
// Monitoring: Log Analytics, Application Insights (Entra-authenticated ingestion), alerts.
// ---------------------------------------------------------------------------------------------------
resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${envName}-${suffix}'
  location: location
  tags: tags
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 90 }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${envName}-${suffix}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true // ingestion with the app's identity only
  }
}

resource alertGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${envName}-${suffix}'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'lparchiver'
    enabled: true
    emailReceivers: [{ name: 'admin', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

var alertActions = empty(alertEmail) ? [] : [alertGroup.id]

// Both queries live in infra/queries/ (one source for the alert and for anyone reading it).
var alertRules = [
  {
    key: 'failed-items'
    displayName: 'LivePerson archiver: failed items'
    description: 'At least one conversation or mailbox delivery failed in the last hour. See the status log (/api/log?status=failed) and infra/queries/failures-by-reason.kql.'
    severity: 2
    query: loadTextContent('queries/alert-failed-items.kql')
  }
  {
    key: 'discovery-lag'
    displayName: 'LivePerson archiver: discovery lag or silence'
    description: 'Discovery is more than an hour behind, or reported nothing for an hour (the app is stopped, failing at start, or cannot reach LivePerson).'
    severity: 1
    query: loadTextContent('queries/alert-discovery-lag.kql')
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = [
  for rule in alertRules: {
    name: 'alert-${rule.key}-${envName}-${suffix}'
    location: location
    tags: tags
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [insights.id]
      evaluationFrequency: 'PT15M'
      windowSize: 'PT1H'
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      autoMitigate: true
      actions: { actionGroups: alertActions }
    }
  }
]

// ---------------------------------------------------------------------------------------------------
// Key Vault (RBAC) for the LivePerson and Graph secrets, read through Key Vault references.
// ---------------------------------------------------------------------------------------------------
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${short}-${take(suffix, 8)}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
  }
}

var kvRef = 'https://${vault.name}${environment().suffixes.keyvaultDns}/secrets'

// ---------------------------------------------------------------------------------------------------
// The function app.
// ---------------------------------------------------------------------------------------------------
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${envName}-${suffix}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

var baseAppSettings = [
  // Host storage and every binding's `connection: 'AzureWebJobsStorage'`, identity-based.
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: hostStorage.properties.primaryEndpoints.blob }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: hostStorage.properties.primaryEndpoints.queue }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: hostStorage.properties.primaryEndpoints.table }
  // The archive account (create and read blobs only).
  { name: 'ArchiveStorage__credential', value: 'managedidentity' }
  { name: 'ArchiveStorage__clientId', value: identity.properties.clientId }
  { name: 'ArchiveStorage__blobServiceUri', value: archiveStorage.properties.primaryEndpoints.blob }
  { name: 'ArchiveStorage__queueServiceUri', value: archiveStorage.properties.primaryEndpoints.queue }
  // SDKs that use DefaultAzureCredential (telemetry exporter) pick the user-assigned identity.
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
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
  { name: 'ARCHIVE_QUEUE', value: archiveQueueName }
  { name: 'ARCHIVE_CONTAINER', value: archiveContainerName }
  { name: 'DELIVERY_QUEUE', value: deliveryQueueName }
  { name: 'DELIVERY_PLAN_QUEUE', value: deliveryPlanQueueName }
  { name: 'STATUS_TABLE', value: tableNames.status }
  { name: 'WATERMARK_TABLE', value: tableNames.watermark }
  { name: 'FAILURE_TABLE', value: tableNames.failure }
  { name: 'MAILBOX_TABLE', value: tableNames.mailbox }
  { name: 'ARCHIVE_ADDRESS_DOMAIN', value: '' }
  { name: 'MESSAGE_ID_DOMAIN', value: '' }
  // Admin endpoints: App Service Authentication in front, and the app's own check of the signed-in principal.
  { name: 'ADMIN_SIGN_IN', value: adminSignIn }
  { name: 'ADMIN_ALLOWED_GROUP', value: adminAllowedGroup }
  // LivePerson (lib/liveperson/config.ts). Secrets are Key Vault references, resolved by the platform.
  { name: 'LP_ACCOUNT_ID', value: lpAccountId }
  { name: 'LP_APP_KEY', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-app-key/)' }
  { name: 'LP_APP_SECRET', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-app-secret/)' }
  { name: 'LP_ACCESS_TOKEN', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-access-token/)' }
  { name: 'LP_ACCESS_TOKEN_SECRET', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-access-token-secret/)' }
  { name: 'LP_CLIENT_ID', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-client-id/)' }
  { name: 'LP_CLIENT_SECRET', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/lp-client-secret/)' }
]

// Microsoft 365 delivery: only when a tenant is given (GRAPH_TENANT_ID switches delivery on). Exactly one
// credential is set; the secret and the certificate are Key Vault references.
var graphCredentialSettings = {
  secret: [
    { name: 'GRAPH_CLIENT_ID', value: graphClientId }
    { name: 'GRAPH_CLIENT_SECRET', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/graph-client-secret/)' }
  ]
  certificate: [
    { name: 'GRAPH_CLIENT_ID', value: graphClientId }
    { name: 'GRAPH_CLIENT_CERTIFICATE', value: '@Microsoft.KeyVault(SecretUri=${kvRef}/graph-client-certificate/)' }
  ]
  managedidentity: [
    { name: 'GRAPH_CREDENTIAL', value: 'managedidentity' }
    { name: 'GRAPH_MANAGED_IDENTITY_CLIENT_ID', value: identity.properties.clientId }
  ]
}

var graphCommonSettings = [
  { name: 'GRAPH_TENANT_ID', value: graphTenantId }
  { name: 'GRAPH_IMPORT_MODE', value: graphImportMode }
  { name: 'MAILBOX_FOLDER', value: mailboxFolder }
  { name: 'TENANT_DOMAINS', value: tenantDomains }
  { name: 'FALLBACK_MAILBOX', value: fallbackMailbox }
  { name: 'MAILBOX_MAPPING_BLOB', value: mailboxMappingBlob }
  { name: 'DELIVER_TO_CONSUMERS', value: string(deliverToConsumers) }
]

var graphAppSettings = deliveryEnabled ? concat(graphCommonSettings, graphCredentialSettings[graphCredential]) : []

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${envName}-${suffix}'
  location: location
  tags: union(tags, { 'azd-service-name': 'api' }) // azd deploys the `api` service of azure.yaml here
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    virtualNetworkSubnetId: privateNetworking ? network.outputs.appSubnetId : null
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identity.id }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: maximumInstanceCount, instanceMemoryMB: 2048 }
      runtime: { name: 'node', version: '22' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: concat(baseAppSettings, graphAppSettings)
    }
  }
  dependsOn: [hostBlobRole, hostQueueRole, hostTableRole, archiveWriterAssignment, vaultRole]
}

// App Service Authentication (Entra ID) in front of the admin endpoints. Excluded: the function-key routes
// for automation and the extension webhooks (Event Grid must reach /runtime/webhooks/eventgrid unsigned-in;
// it presents the eventgrid_extension key instead).
var authExcludedPaths = ['/api/automation/*', '/runtime/webhooks/*']

resource siteAuth 'Microsoft.Web/sites/config@2024-04-01' = if (signInEnabled) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: empty(authClientId) ? 'Return401' : 'RedirectToLoginPage'
      redirectToProvider: empty(authClientId) ? null : 'azureactivedirectory'
      excludedPaths: authExcludedPaths
    }
    httpSettings: { requireHttps: true }
    login: { tokenStore: { enabled: false } }
    identityProviders: empty(authClientId)
      ? {}
      : {
          azureActiveDirectory: {
            enabled: true
            registration: {
              clientId: authClientId
              openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
            }
            validation: {
              allowedAudiences: [authClientId, 'api://${authClientId}']
              defaultAuthorizationPolicy: {
                allowedPrincipals: { groups: empty(adminAllowedGroup) ? [] : [adminAllowedGroup] }
              }
            }
          }
        }
  }
}

// ---------------------------------------------------------------------------------------------------
// Roles: data plane only, narrowest scope that works.
// ---------------------------------------------------------------------------------------------------
resource archiveWriterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'lparchiver-archive-writer', name)
  properties: {
    roleName: 'LivePerson archive writer (create-only) ${name} ${take(suffix, 6)}'
    description: 'Create new blobs and read them in the LivePerson archive; no overwrite, no delete, no container or immutability changes.'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: archiveWriterDataActions
        notDataActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

resource archiveWriterAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: archiveContainer
  name: guid(archiveContainer.id, identity.id, archiveWriterRole.id)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: archiveWriterRole.id
  }
}

// Host storage: the Functions host needs Blob Data Owner on its own storage (keys, leases, the package).
resource hostBlobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, identity.id, roles.storageBlobDataOwner)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

resource hostQueueRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, identity.id, roles.storageQueueDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource hostTableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, identity.id, roles.storageTableDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

resource metricsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: insights
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource vaultRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Event Grid writes undeliverable events (after maxDeliveryAttempts or the TTL) to the dead-letter container.
resource deadLetterRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: deadLetterContainer
  name: guid(deadLetterContainer.id, archiveTopic.id, roles.storageBlobDataContributor)
  properties: {
    principalId: archiveTopic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// azd copies these outputs into the environment (.azure/<env>/.env); the postdeploy hook reads them.
output AZURE_FUNCTION_APP_NAME string = site.name
output FUNCTION_APP_URL string = 'https://${site.properties.defaultHostName}'
output HOST_STORAGE_ACCOUNT_NAME string = hostStorage.name
output ARCHIVE_STORAGE_ACCOUNT_NAME string = archiveStorage.name
output ARCHIVE_CONTAINER string = archiveContainerName
output EVENTGRID_TOPIC_NAME string = archiveTopic.name
output KEY_VAULT_NAME string = vault.name
output APP_IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output APP_IDENTITY_CLIENT_ID string = identity.properties.clientId
output ADMIN_SIGN_IN string = adminSignIn
