//! Repository management, in one place: what happens to each destination's repository and
//! how its settings and policies compare with the inputs (`plan`, reads only, during the
//! plan), the result model of those changes (`changes`, with `policy_diff` for the short diff
//! the plan shows), and phase 1's writes (`apply`). The output layer renders the model.

pub mod apply;
pub mod changes;
pub mod plan;
mod policy_diff;

pub use changes::{
    PolicyAction, PolicyChange, ReplicationAction, ReplicationPlan, RepositoryChanges, Setting,
    SettingAction, SettingChange,
};
pub use plan::RepositoryAction;
