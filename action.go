package hangar

import "slices"

// Actions are "<resource>/<verb>" strings, modelled on Azure RBAC operations
// so that Azure-style role definitions translate nearly one to one: the
// resource in lower camel case and plural as Azure names it
// (onlineEndpoints), the verb read, write or delete, or a named action
// (reveal, approve). Roles match them by pattern ("*", "<resource>/*",
// "*/<verb>"), so an action must have exactly one "/".
//
// Every action lives here, including those of things that do not exist yet:
// a role is defined against the whole vocabulary, and a route or store can
// only name an action this file declares (Actions, and the tests of the HTTP
// route table, check it).
const (
	ActWorkspaceRead   = "workspaces/read"
	ActWorkspaceWrite  = "workspaces/write"
	ActWorkspaceDelete = "workspaces/delete"

	ActIdentityRead  = "identities/read"
	ActIdentityWrite = "identities/write"
	ActTokenRead     = "tokens/read"
	ActTokenWrite    = "tokens/write"
	ActTokenDelete   = "tokens/delete"

	ActRoleDefinitionRead   = "roleDefinitions/read" // list the roles: every built-in role holds it, as in Azure
	ActRoleAssignmentRead   = "roleAssignments/read"
	ActRoleAssignmentWrite  = "roleAssignments/write"
	ActRoleAssignmentDelete = "roleAssignments/delete"

	ActAuditRead = "audit/read"

	ActMetricsRead = "metrics/read" // the server's Prometheus metrics, when the server requires a token for them

	ActSecretRead   = "secrets/read"   // names and metadata, never values
	ActSecretWrite  = "secrets/write"  // set a value (granting it to a workload also takes secrets/reveal)
	ActSecretDelete = "secrets/delete" // delete
	ActSecretReveal = "secrets/reveal" // read a value: Owner, and identities granted the secret

	ActArtifactRead  = "artifacts/read"  // download blobs
	ActArtifactWrite = "artifacts/write" // upload blobs

	ActDataRead        = "data/read" // data assets and their versions
	ActDataWrite       = "data/write"
	ActDataDelete      = "data/delete"
	ActDatastoreRead   = "datastores/read"
	ActDatastoreWrite  = "datastores/write"
	ActDatastoreDelete = "datastores/delete"

	ActEnvironmentRead   = "environments/read"
	ActEnvironmentWrite  = "environments/write"
	ActEnvironmentDelete = "environments/delete"
	ActComponentRead     = "components/read"
	ActComponentWrite    = "components/write"
	ActComponentDelete   = "components/delete"
	ActJobRead           = "jobs/read"
	ActJobWrite          = "jobs/write" // submit, change and cancel
	ActJobDelete         = "jobs/delete"

	ActComputeRead   = "computes/read"
	ActComputeWrite  = "computes/write"
	ActComputeDelete = "computes/delete"

	ActExperimentRead   = "experiments/read" // tracking: experiments
	ActExperimentWrite  = "experiments/write"
	ActExperimentDelete = "experiments/delete"
	ActRunRead          = "runs/read" // tracking: runs, their params, metrics, tags and artifacts
	ActRunWrite         = "runs/write"
	ActRunDelete        = "runs/delete"

	ActModelRead       = "models/read"
	ActModelWrite      = "models/write"
	ActModelDelete     = "models/delete"
	ActRegistryRead    = "registries/read" // models shared across workspaces
	ActRegistryWrite   = "registries/write"
	ActRegistryDelete  = "registries/delete"
	ActApprovalRead    = "approvals/read"
	ActApprovalApprove = "approvals/approve" // approve or reject a model promotion
	// ActApprovalWrite protects and unprotects aliases: approvals/* keeps
	// it from Contributor and Data Scientist, who could otherwise lift a
	// protection and move the alias themselves, and the Approver does not
	// hold it, so only Owner decides what needs approval.
	ActApprovalWrite = "approvals/write"

	ActOnlineEndpointRead   = "onlineEndpoints/read"
	ActOnlineEndpointWrite  = "onlineEndpoints/write"
	ActOnlineEndpointDelete = "onlineEndpoints/delete"
	// ActOnlineEndpointListKeys reads an endpoint's credentials (its keys,
	// or a token for aml_token endpoints): Azure's listKeys and token
	// actions. Reader does not hold it — a key calls the endpoint.
	ActOnlineEndpointListKeys = "onlineEndpoints/listKeys"
	ActOnlineDeploymentRead   = "onlineDeployments/read"
	ActOnlineDeploymentWrite  = "onlineDeployments/write"
	ActOnlineDeploymentDelete = "onlineDeployments/delete"
	ActBatchEndpointRead      = "batchEndpoints/read"
	ActBatchEndpointWrite     = "batchEndpoints/write"
	ActBatchEndpointDelete    = "batchEndpoints/delete"
	ActBatchDeploymentRead    = "batchDeployments/read"
	ActBatchDeploymentWrite   = "batchDeployments/write"
	ActBatchDeploymentDelete  = "batchDeployments/delete"

	ActScheduleRead   = "schedules/read"
	ActScheduleWrite  = "schedules/write"
	ActScheduleDelete = "schedules/delete"
	ActMonitorRead    = "monitors/read"
	ActMonitorWrite   = "monitors/write"
	ActMonitorDelete  = "monitors/delete"
)

// Actions returns every declared action, in the order of their declaration;
// the slice is the caller's own. A test checks that it lists every Act
// constant.
func Actions() []string {
	return []string{
		ActWorkspaceRead, ActWorkspaceWrite, ActWorkspaceDelete,
		ActIdentityRead, ActIdentityWrite, ActTokenRead, ActTokenWrite, ActTokenDelete,
		ActRoleDefinitionRead, ActRoleAssignmentRead, ActRoleAssignmentWrite, ActRoleAssignmentDelete,
		ActAuditRead,
		ActMetricsRead,
		ActSecretRead, ActSecretWrite, ActSecretDelete, ActSecretReveal,
		ActArtifactRead, ActArtifactWrite,
		ActDataRead, ActDataWrite, ActDataDelete,
		ActDatastoreRead, ActDatastoreWrite, ActDatastoreDelete,
		ActEnvironmentRead, ActEnvironmentWrite, ActEnvironmentDelete,
		ActComponentRead, ActComponentWrite, ActComponentDelete,
		ActJobRead, ActJobWrite, ActJobDelete,
		ActComputeRead, ActComputeWrite, ActComputeDelete,
		ActExperimentRead, ActExperimentWrite, ActExperimentDelete,
		ActRunRead, ActRunWrite, ActRunDelete,
		ActModelRead, ActModelWrite, ActModelDelete,
		ActRegistryRead, ActRegistryWrite, ActRegistryDelete,
		ActApprovalRead, ActApprovalApprove, ActApprovalWrite,
		ActOnlineEndpointRead, ActOnlineEndpointWrite, ActOnlineEndpointDelete, ActOnlineEndpointListKeys,
		ActOnlineDeploymentRead, ActOnlineDeploymentWrite, ActOnlineDeploymentDelete,
		ActBatchEndpointRead, ActBatchEndpointWrite, ActBatchEndpointDelete,
		ActBatchDeploymentRead, ActBatchDeploymentWrite, ActBatchDeploymentDelete,
		ActScheduleRead, ActScheduleWrite, ActScheduleDelete,
		ActMonitorRead, ActMonitorWrite, ActMonitorDelete,
	}
}

// IsAction reports whether action is one of the declared actions.
func IsAction(action string) bool {
	return slices.Contains(Actions(), action)
}
