//! The languages relink speaks to a team in: the seeds' audiences.

use super::keyword_enum;

keyword_enum! {
    /// A team's language for alerts, pages and command replies.
    Language, "language", {
        En => "en" | "english",
        It => "it" | "italian" | "italiano",
        Ja => "ja" | "japanese" | "jp" | "日本語",
    }
}
