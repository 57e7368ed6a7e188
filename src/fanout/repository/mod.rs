//! Repository management, in one place: what happens to each destination's repository and
//! how its settings and policies compare with the inputs (`plan`, reads only, during the
//! plan), how they compare with the inputs (`changes`, with `policy_diff` for the short diff
//! the plan shows), and phase 1's writes (`apply`). The changes themselves are in the result
//! model (`crate::report`), which the output layer renders.

pub mod apply;
pub mod changes;
pub mod plan;
mod policy_diff;
