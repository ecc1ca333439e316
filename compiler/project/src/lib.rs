//! chor-project: endpoint projection of choreographies into one local program per role,
//! merging of branches, and the knowledge-of-choice check (design card §5.3).

pub mod family;
pub mod local;
pub mod project;

pub use family::{FamilyClass, RoleForm, class_of, family_classes, role_forms, same_program};
pub use local::{LKind, LStmt, LocalProc, LocalProgram, MsgType, ProcKey};
pub use project::{
    ChoiceCache, check_choices, check_choices_of_instances, check_choices_reusing, project_proc,
    project_proc_typed, project_program,
};
