//! Bitbucket Cloud wire types (private): every field optional, unknown fields
//! and unknown enum values tolerated, so a changed payload degrades a record
//! instead of failing a sync. Shapes follow `shared/api-reference.md` §1.

use serde::Deserialize;

/// `account`: `user`, `app_user` or `team`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Account {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub uuid: Option<String>,
    pub account_id: Option<String>,
    pub display_name: Option<String>,
    pub nickname: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Branch {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Repository {
    pub uuid: Option<String>,
    pub slug: Option<String>,
    pub full_name: Option<String>,
    pub mainbranch: Option<Branch>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Named {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Environment {
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub environment_type: Option<Named>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct CommitRef {
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Release {
    pub commit: Option<CommitRef>,
    /// `#186`.
    pub name: Option<String>,
    /// The pipeline run's web page.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Href {
    pub href: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Links {
    pub html: Option<Href>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct EnvironmentRef {
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub environment_type: Option<Named>,
}

/// `deployment_state_*`: timestamps under both the real (`started_on`,
/// `completed_on`) and the swagger (`start_date`, `completion_date`) names.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct DeploymentState {
    pub name: Option<String>,
    pub status: Option<Named>,
    pub started_on: Option<String>,
    pub completed_on: Option<String>,
    pub start_date: Option<String>,
    pub completion_date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Deployment {
    pub uuid: Option<String>,
    pub state: Option<DeploymentState>,
    pub environment: Option<EnvironmentRef>,
    pub release: Option<Release>,
    pub deployable: Option<Release>,
    pub last_update_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PrEndpoint {
    pub branch: Option<Branch>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MergeCommit {
    pub hash: Option<String>,
    pub date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PullRequest {
    pub id: Option<u64>,
    pub title: Option<String>,
    pub state: Option<String>,
    pub author: Option<Account>,
    pub source: Option<PrEndpoint>,
    pub destination: Option<PrEndpoint>,
    pub merge_commit: Option<MergeCommit>,
    pub created_on: Option<String>,
    pub updated_on: Option<String>,
    pub links: Option<Links>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PrRef {
    pub id: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Update {
    pub state: Option<String>,
    pub date: Option<String>,
}

/// `approval` and (assumed to share its shape) `changes_requested`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Approval {
    pub date: Option<String>,
    pub user: Option<Account>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Comment {
    pub created_on: Option<String>,
    pub user: Option<Account>,
    pub deleted: Option<bool>,
}

/// One activity entry: exactly one of `update`, `approval`, `comment`,
/// `changes_requested` (others are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Activity {
    pub update: Option<Update>,
    pub approval: Option<Approval>,
    pub comment: Option<Comment>,
    pub changes_requested: Option<Approval>,
    pub pull_request: Option<PrRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct CommitAuthor {
    pub raw: Option<String>,
    pub user: Option<Account>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Commit {
    pub hash: Option<String>,
    pub date: Option<String>,
    pub message: Option<String>,
    pub author: Option<CommitAuthor>,
    #[serde(default)]
    pub parents: Vec<CommitRef>,
}

/// `GET …/branching-model` (§1.17), read by the collection (the production
/// branch) and the inventory (all of it).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct BranchingModel {
    pub development: Option<ModelBranch>,
    pub production: Option<ModelBranch>,
    #[serde(default)]
    pub branch_types: Vec<BranchType>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ModelBranch {
    pub name: Option<String>,
    pub use_mainbranch: Option<bool>,
    /// Absent when the named branch does not exist.
    pub branch: Option<BranchRef>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BranchRef {
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BranchType {
    pub kind: Option<String>,
    pub prefix: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Pipeline {
    pub build_number: Option<u64>,
    pub created_on: Option<String>,
    pub target: Option<PipelineTarget>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PipelineTarget {
    pub ref_type: Option<String>,
    pub ref_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PipelinesPage {
    #[serde(default)]
    pub values: Vec<Pipeline>,
}

/// The `fields=` selections: only what the conversion reads, plus `next`.
pub(crate) mod fields {
    pub const REPOSITORY: &str = "slug,full_name,mainbranch.name";
    pub const REPOSITORIES: &str =
        "next,values.uuid,values.slug,values.full_name,values.mainbranch.name";
    pub const ENVIRONMENTS: &str = "next,values.uuid,values.name,values.environment_type.name";
    pub const DEPLOYMENTS: &str = "next,values.uuid,values.state,values.environment.uuid,values.environment.name,values.environment.environment_type.name,values.release.commit.hash,values.release.name,values.release.url,values.deployable.commit.hash,values.last_update_time";
    pub const DEPLOYMENT: &str = "uuid,state,environment.uuid,environment.name,environment.environment_type.name,release.commit.hash,release.name,release.url,deployable.commit.hash,last_update_time";
    pub const PULL_REQUESTS: &str = "next,values.id,values.title,values.state,values.author,values.source.branch.name,values.destination.branch.name,values.merge_commit.hash,values.merge_commit.date,values.created_on,values.updated_on,values.links.html.href";
    pub const ACTIVITY: &str = "next,values.pull_request.id,values.update.state,values.update.date,values.approval.date,values.approval.user,values.changes_requested.date,values.changes_requested.user,values.comment.created_on,values.comment.user,values.comment.deleted";
    pub const PIPELINES: &str =
        "values.build_number,values.created_on,values.target.ref_type,values.target.ref_name";
    pub const COMMITS: &str = "next,values.hash,values.date,values.message,values.author.raw,values.author.user,values.parents.hash";
}
