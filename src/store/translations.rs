//! The translation cache (`translations`, migration 0004): titles and abstracts in other languages, shared by
//! every reader, keyed by paper, language, model and prompt version.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite};

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
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT paper_id, text FROM translations WHERE lang = ");
            qb.push_bind(&key.lang)
                .push(" AND model = ")
                .push_bind(&key.model)
                .push(" AND prompt_version = ")
                .push_bind(&key.prompt_version)
                .push(" AND field = ")
                .push_bind(field.as_str())
                .push(" AND paper_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id);
            }
            qb.push(")");
            let rows: Vec<(String, String)> = qb.build_query_as().fetch_all(self.reader()).await?;
            out.extend(rows);
        }
        Ok(out)
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
            sqlx::query(
                "INSERT INTO translations (paper_id, lang, model, prompt_version, field, text, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (paper_id, lang, model, prompt_version, field) \
                 DO UPDATE SET text = excluded.text, created_at = excluded.created_at",
            )
            .bind(id)
            .bind(&key.lang)
            .bind(&key.model)
            .bind(&key.prompt_version)
            .bind(field.as_str())
            .bind(text)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
