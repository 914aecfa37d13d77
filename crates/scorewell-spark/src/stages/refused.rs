//! Spark classes refused with a reason: what part of their transform scorewell cannot
//! reproduce exactly, so the error says more than "unsupported".

use crate::reader::Metadata;

/// Why `meta`'s class is not scored, for classes worth a specific answer.
pub(crate) fn reason(meta: &Metadata) -> Option<String> {
    let short = meta.short_class();
    Some(match short {
        "SQLTransformer" => {
            let statement = meta.opt_str("statement").ok().flatten().unwrap_or_default();
            format!(
                "it runs the Spark SQL statement `{statement}`, and scorewell does not evaluate SQL; compute those columns before scoring, or express them with feature transformers"
            )
        }
        "DCT" => "the discrete cosine transform (JTransforms' DCT-II) is not implemented".into(),
        "Interaction" => "its output depends on the ML attribute metadata of its input columns (nominal features are one-hot encoded), which scorewell does not track".into(),
        "RFormulaModel" => "the pipeline an RFormula builds depends on the ML attribute metadata of its columns, which scorewell does not track; save the equivalent explicit pipeline instead".into(),
        _ => return None,
    })
}
