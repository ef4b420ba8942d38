//! The translation cache (`translations`, migration 0004): titles and abstracts in other languages, shared by
//! every reader, keyed by paper, language, model and prompt version.

use std::collections::HashMap;

use super::{Result, Store, now_rfc3339};

/// Which translations: one language, by one model, with one prompt version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TranslationKey {
    pub lang: String,
    pub model: String,
    pub prompt_version: String,
}

/// What is translated of a paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TranslatedField {
    Title,
    Abstract,
}

impl TranslatedField {
    pub fn as_str(self) -> &'static str {
        match self {
            TranslatedField::Title => "title",
            TranslatedField::Abstract => "abstract",
        }
    }
}

impl Store {
    /// The cached translations of `field` for `ids` under `key`: paper id → text.
    pub async fn translations(
        &self,
        key: &TranslationKey,
        field: TranslatedField,
        ids: &[String],
    ) -> Result<HashMap<String, String>> {
        let (field, list) = (field.as_str(), super::json_list(ids));
        let rows = sqlx::query!(
            "SELECT paper_id, text FROM translations WHERE lang = ? AND model = ? AND prompt_version = ? \
             AND field = ? AND paper_id IN (SELECT value FROM json_each(?))",
            key.lang,
            key.model,
            key.prompt_version,
            field,
            list,
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(|r| (r.paper_id, r.text)).collect())
    }

    /// Stores translations (`(paper id, field, text)`), in one transaction; a row already there is replaced.
    pub async fn put_translations(
        &self,
        key: &TranslationKey,
        rows: &[(String, TranslatedField, String)],
    ) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let now = now_rfc3339();
        for (id, field, text) in rows {
            let field = field.as_str();
            sqlx::query!(
                "INSERT INTO translations (paper_id, lang, model, prompt_version, field, text, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (paper_id, lang, model, prompt_version, field) \
                 DO UPDATE SET text = excluded.text, created_at = excluded.created_at",
                id,
                key.lang,
                key.model,
                key.prompt_version,
                field,
                text,
                now,
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
