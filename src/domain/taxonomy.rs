//! arXiv's category taxonomy (code -> display name), after https://arxiv.org/category_taxonomy.
//!
//! Besides the current subject classes the table holds the archive codes themselves (`cs`, `math`, `physics`,
//! `cond-mat`, ...; they name the group and let callers tell a plausible code from noise) and the legacy archives
//! that old papers still carry (`chao-dyn`, `solv-int`, `cmp-lg`, ...). Aliases arXiv keeps in parallel (`math.MP` =
//! `math-ph`, `math.NA` = `cs.NA`, `eess.SY` = `cs.SY`, `math.IT` = `cs.IT`, `math.ST` = `stat.TH`, `q-fin.EC` =
//! `econ.GN`) are listed under both codes with arXiv's names.

/// Sorted by code (byte order) so lookups can binary-search; a test keeps it sorted.
static TAXONOMY: &[(&str, &str)] = &[
    ("acc-phys", "Accelerator Physics"),
    ("adap-org", "Adaptation, Noise, and Self-Organizing Systems"),
    ("alg-geom", "Algebraic Geometry"),
    ("ao-sci", "Atmospheric-Oceanic Sciences"),
    ("astro-ph", "Astrophysics"),
    ("astro-ph.CO", "Cosmology and Nongalactic Astrophysics"),
    ("astro-ph.EP", "Earth and Planetary Astrophysics"),
    ("astro-ph.GA", "Astrophysics of Galaxies"),
    ("astro-ph.HE", "High Energy Astrophysical Phenomena"),
    ("astro-ph.IM", "Instrumentation and Methods for Astrophysics"),
    ("astro-ph.SR", "Solar and Stellar Astrophysics"),
    ("atom-ph", "Atomic, Molecular and Optical Physics"),
    ("bayes-an", "Bayesian Analysis"),
    ("chao-dyn", "Chaotic Dynamics"),
    ("chem-ph", "Chemical Physics"),
    ("cmp-lg", "Computation and Language"),
    ("comp-gas", "Cellular Automata and Lattice Gases"),
    ("cond-mat", "Condensed Matter"),
    ("cond-mat.dis-nn", "Disordered Systems and Neural Networks"),
    ("cond-mat.mes-hall", "Mesoscale and Nanoscale Physics"),
    ("cond-mat.mtrl-sci", "Materials Science"),
    ("cond-mat.other", "Other Condensed Matter"),
    ("cond-mat.quant-gas", "Quantum Gases"),
    ("cond-mat.soft", "Soft Condensed Matter"),
    ("cond-mat.stat-mech", "Statistical Mechanics"),
    ("cond-mat.str-el", "Strongly Correlated Electrons"),
    ("cond-mat.supr-con", "Superconductivity"),
    ("cs", "Computer Science"),
    ("cs.AI", "Artificial Intelligence"),
    ("cs.AR", "Hardware Architecture"),
    ("cs.CC", "Computational Complexity"),
    ("cs.CE", "Computational Engineering, Finance, and Science"),
    ("cs.CG", "Computational Geometry"),
    ("cs.CL", "Computation and Language"),
    ("cs.CR", "Cryptography and Security"),
    ("cs.CV", "Computer Vision and Pattern Recognition"),
    ("cs.CY", "Computers and Society"),
    ("cs.DB", "Databases"),
    ("cs.DC", "Distributed, Parallel, and Cluster Computing"),
    ("cs.DL", "Digital Libraries"),
    ("cs.DM", "Discrete Mathematics"),
    ("cs.DS", "Data Structures and Algorithms"),
    ("cs.ET", "Emerging Technologies"),
    ("cs.FL", "Formal Languages and Automata Theory"),
    ("cs.GL", "General Literature"),
    ("cs.GR", "Graphics"),
    ("cs.GT", "Computer Science and Game Theory"),
    ("cs.HC", "Human-Computer Interaction"),
    ("cs.IR", "Information Retrieval"),
    ("cs.IT", "Information Theory"),
    ("cs.LG", "Machine Learning"),
    ("cs.LO", "Logic in Computer Science"),
    ("cs.MA", "Multiagent Systems"),
    ("cs.MM", "Multimedia"),
    ("cs.MS", "Mathematical Software"),
    ("cs.NA", "Numerical Analysis"),
    ("cs.NE", "Neural and Evolutionary Computing"),
    ("cs.NI", "Networking and Internet Architecture"),
    ("cs.OH", "Other Computer Science"),
    ("cs.OS", "Operating Systems"),
    ("cs.PF", "Performance"),
    ("cs.PL", "Programming Languages"),
    ("cs.RO", "Robotics"),
    ("cs.SC", "Symbolic Computation"),
    ("cs.SD", "Sound"),
    ("cs.SE", "Software Engineering"),
    ("cs.SI", "Social and Information Networks"),
    ("cs.SY", "Systems and Control"),
    ("dg-ga", "Differential Geometry"),
    ("econ", "Economics"),
    ("econ.EM", "Econometrics"),
    ("econ.GN", "General Economics"),
    ("econ.TH", "Theoretical Economics"),
    ("eess", "Electrical Engineering and Systems Science"),
    ("eess.AS", "Audio and Speech Processing"),
    ("eess.IV", "Image and Video Processing"),
    ("eess.SP", "Signal Processing"),
    ("eess.SY", "Systems and Control"),
    ("funct-an", "Functional Analysis"),
    ("gr-qc", "General Relativity and Quantum Cosmology"),
    ("hep-ex", "High Energy Physics - Experiment"),
    ("hep-lat", "High Energy Physics - Lattice"),
    ("hep-ph", "High Energy Physics - Phenomenology"),
    ("hep-th", "High Energy Physics - Theory"),
    ("math", "Mathematics"),
    ("math-ph", "Mathematical Physics"),
    ("math.AC", "Commutative Algebra"),
    ("math.AG", "Algebraic Geometry"),
    ("math.AP", "Analysis of PDEs"),
    ("math.AT", "Algebraic Topology"),
    ("math.CA", "Classical Analysis and ODEs"),
    ("math.CO", "Combinatorics"),
    ("math.CT", "Category Theory"),
    ("math.CV", "Complex Variables"),
    ("math.DG", "Differential Geometry"),
    ("math.DS", "Dynamical Systems"),
    ("math.FA", "Functional Analysis"),
    ("math.GM", "General Mathematics"),
    ("math.GN", "General Topology"),
    ("math.GR", "Group Theory"),
    ("math.GT", "Geometric Topology"),
    ("math.HO", "History and Overview"),
    ("math.IT", "Information Theory"),
    ("math.KT", "K-Theory and Homology"),
    ("math.LO", "Logic"),
    ("math.MG", "Metric Geometry"),
    ("math.MP", "Mathematical Physics"),
    ("math.NA", "Numerical Analysis"),
    ("math.NT", "Number Theory"),
    ("math.OA", "Operator Algebras"),
    ("math.OC", "Optimization and Control"),
    ("math.PR", "Probability"),
    ("math.QA", "Quantum Algebra"),
    ("math.RA", "Rings and Algebras"),
    ("math.RT", "Representation Theory"),
    ("math.SG", "Symplectic Geometry"),
    ("math.SP", "Spectral Theory"),
    ("math.ST", "Statistics Theory"),
    ("mtrl-th", "Materials Theory"),
    ("nlin", "Nonlinear Sciences"),
    ("nlin.AO", "Adaptation and Self-Organizing Systems"),
    ("nlin.CD", "Chaotic Dynamics"),
    ("nlin.CG", "Cellular Automata and Lattice Gases"),
    ("nlin.PS", "Pattern Formation and Solitons"),
    ("nlin.SI", "Exactly Solvable and Integrable Systems"),
    ("nucl-ex", "Nuclear Experiment"),
    ("nucl-th", "Nuclear Theory"),
    ("patt-sol", "Pattern Formation and Solitons"),
    ("physics", "Physics"),
    ("physics.acc-ph", "Accelerator Physics"),
    ("physics.ao-ph", "Atmospheric and Oceanic Physics"),
    ("physics.app-ph", "Applied Physics"),
    ("physics.atm-clus", "Atomic and Molecular Clusters"),
    ("physics.atom-ph", "Atomic Physics"),
    ("physics.bio-ph", "Biological Physics"),
    ("physics.chem-ph", "Chemical Physics"),
    ("physics.class-ph", "Classical Physics"),
    ("physics.comp-ph", "Computational Physics"),
    ("physics.data-an", "Data Analysis, Statistics and Probability"),
    ("physics.ed-ph", "Physics Education"),
    ("physics.flu-dyn", "Fluid Dynamics"),
    ("physics.gen-ph", "General Physics"),
    ("physics.geo-ph", "Geophysics"),
    ("physics.hist-ph", "History and Philosophy of Physics"),
    ("physics.ins-det", "Instrumentation and Detectors"),
    ("physics.med-ph", "Medical Physics"),
    ("physics.optics", "Optics"),
    ("physics.plasm-ph", "Plasma Physics"),
    ("physics.pop-ph", "Popular Physics"),
    ("physics.soc-ph", "Physics and Society"),
    ("physics.space-ph", "Space Physics"),
    ("plasm-ph", "Plasma Physics"),
    ("q-alg", "Quantum Algebra and Topology"),
    ("q-bio", "Quantitative Biology"),
    ("q-bio.BM", "Biomolecules"),
    ("q-bio.CB", "Cell Behavior"),
    ("q-bio.GN", "Genomics"),
    ("q-bio.MN", "Molecular Networks"),
    ("q-bio.NC", "Neurons and Cognition"),
    ("q-bio.OT", "Other Quantitative Biology"),
    ("q-bio.PE", "Populations and Evolution"),
    ("q-bio.QM", "Quantitative Methods"),
    ("q-bio.SC", "Subcellular Processes"),
    ("q-bio.TO", "Tissues and Organs"),
    ("q-fin", "Quantitative Finance"),
    ("q-fin.CP", "Computational Finance"),
    ("q-fin.EC", "Economics"),
    ("q-fin.GN", "General Finance"),
    ("q-fin.MF", "Mathematical Finance"),
    ("q-fin.PM", "Portfolio Management"),
    ("q-fin.PR", "Pricing of Securities"),
    ("q-fin.RM", "Risk Management"),
    ("q-fin.ST", "Statistical Finance"),
    ("q-fin.TR", "Trading and Market Microstructure"),
    ("quant-ph", "Quantum Physics"),
    ("solv-int", "Exactly Solvable and Integrable Systems"),
    ("stat", "Statistics"),
    ("stat.AP", "Applications"),
    ("stat.CO", "Computation"),
    ("stat.ME", "Methodology"),
    ("stat.ML", "Machine Learning"),
    ("stat.OT", "Other Statistics"),
    ("stat.TH", "Statistics Theory"),
    ("supr-con", "Superconductivity"),
];

/// Archives arXiv retired in the 1990s/2000s; their papers keep these codes as categories.
static LEGACY: &[&str] = &[
    "acc-phys", "adap-org", "alg-geom", "ao-sci", "atom-ph", "bayes-an", "chao-dyn", "chem-ph", "cmp-lg", "comp-gas",
    "dg-ga", "funct-an", "mtrl-th", "patt-sol", "plasm-ph", "q-alg", "solv-int", "supr-con",
];

pub fn name_of(code: &str) -> Option<&'static str> {
    TAXONOMY.binary_search_by(|(c, _)| (*c).cmp(code)).ok().map(|i| TAXONOMY[i].1)
}

/// Every known (code, name) pair, sorted by code.
pub fn all() -> &'static [(&'static str, &'static str)] {
    TAXONOMY
}

/// Whether `code` is one of the retired archives (`chao-dyn`, `solv-int`, ...).
pub fn is_legacy(code: &str) -> bool {
    LEGACY.binary_search(&code).is_ok()
}

/// Whether `archive` (the part of a code before the dot) is an arXiv archive, current or legacy. Used to tell real
/// category codes from the MSC/ACM classes and stray words that some metadata dumps mix into category lists.
pub fn is_known_archive(archive: &str) -> bool {
    name_of(archive).is_some() && !archive.contains('.')
}

/// The group heading arXiv uses before a subject name in OAI `dc:subject` and listings: `Computer Science` for
/// `cs.*`, `Physics` for `physics.*`, `Condensed Matter` for `cond-mat.*`; `None` for codes without a subject part.
fn archive_heading(code: &str) -> Option<&'static str> {
    let (archive, _) = code.split_once('.')?;
    name_of(archive)
}

/// The long form arXiv writes in OAI `oai_dc` `dc:subject`: `Computer Science - Machine Learning` for `cs.LG`,
/// `High Energy Physics - Theory` for `hep-th` (single-subject archives carry their name alone).
pub fn long_name(code: &str) -> Option<String> {
    let name = name_of(code)?;
    Some(match archive_heading(code) {
        Some(heading) => format!("{heading} - {name}"),
        None => name.to_string(),
    })
}

/// Maps an OAI `dc:subject` long name back to its code (`Computer Science - Machine Learning` -> `cs.LG`).
/// Current codes win over legacy archives of the same name; `None` when nothing matches exactly.
pub fn code_for_long_name(subject: &str) -> Option<&'static str> {
    let subject = subject.trim();
    let matches = |code: &str| long_name(code).is_some_and(|l| l == subject);
    TAXONOMY
        .iter()
        .map(|(code, _)| *code)
        .filter(|code| !is_legacy(code))
        .find(|code| matches(code))
        .or_else(|| LEGACY.iter().copied().find(|code| matches(code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TAXONOMY.windows(2).all(|w| w[0].0 < w[1].0), "TAXONOMY must stay sorted by code");
        assert!(LEGACY.windows(2).all(|w| w[0] < w[1]));
        assert!(LEGACY.iter().all(|c| name_of(c).is_some()));
    }

    #[test]
    fn names_of_well_known_codes() {
        for (code, name) in [
            ("cs.CL", "Computation and Language"),
            ("cs.LG", "Machine Learning"),
            ("cs.CV", "Computer Vision and Pattern Recognition"),
            ("stat.ML", "Machine Learning"),
            ("eess.IV", "Image and Video Processing"),
            ("hep-th", "High Energy Physics - Theory"),
            ("cond-mat.mes-hall", "Mesoscale and Nanoscale Physics"),
            ("math.MP", "Mathematical Physics"),
            ("math-ph", "Mathematical Physics"),
            ("q-fin.TR", "Trading and Market Microstructure"),
            ("chao-dyn", "Chaotic Dynamics"),
            ("cmp-lg", "Computation and Language"),
        ] {
            assert_eq!(name_of(code), Some(name), "{code}");
        }
        assert_eq!(name_of("cs.XX"), None);
        assert_eq!(name_of("68T07"), None);
    }

    #[test]
    fn archives_and_long_names() {
        assert!(is_known_archive("cs") && is_known_archive("cond-mat") && is_known_archive("solv-int"));
        assert!(!is_known_archive("and") && !is_known_archive("cs.CL"));
        assert_eq!(long_name("cs.LG").as_deref(), Some("Computer Science - Machine Learning"));
        assert_eq!(long_name("physics.optics").as_deref(), Some("Physics - Optics"));
        assert_eq!(long_name("quant-ph").as_deref(), Some("Quantum Physics"));
        assert_eq!(code_for_long_name("Computer Science - Data Structures and Algorithms"), Some("cs.DS"));
        assert_eq!(code_for_long_name("Mathematics - Numerical Analysis"), Some("math.NA"));
        assert_eq!(code_for_long_name("Statistics - Machine Learning"), Some("stat.ML"));
        assert_eq!(code_for_long_name("High Energy Physics - Theory"), Some("hep-th"));
        assert_eq!(code_for_long_name("Nonlinear Sciences - Chaotic Dynamics"), Some("nlin.CD"));
        assert_eq!(code_for_long_name("Chaotic Dynamics"), Some("chao-dyn"));
        assert_eq!(code_for_long_name("Basket Weaving"), None);
    }

    /// Every code of the shared CS corpus (skipped when absent) must be in the table, once the MSC/ACM classes that
    /// some of its lines carry among the categories are set aside.
    #[test]
    fn corpus_codes_are_known() {
        use std::io::Read;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/arxiv-cs-2025-2026.jsonl.gz");
        let Ok(file) = std::fs::File::open(path) else {
            println!("skipped: {path} is absent");
            return;
        };
        let mut text = String::new();
        flate2::read::GzDecoder::new(file).read_to_string(&mut text).expect("corpus is gzip UTF-8");
        let mut unknown = std::collections::BTreeSet::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
            for code in v["categories"].as_str().unwrap_or("").split_whitespace() {
                // One line lists `cs.CV,`: a stray separator, not a new code.
                let code = code.trim_end_matches([',', ';']);
                let archive = code.split('.').next().unwrap_or(code);
                if is_known_archive(archive) && name_of(code).is_none() {
                    unknown.insert(code.to_string());
                }
            }
        }
        assert!(unknown.is_empty(), "codes missing from the taxonomy: {unknown:?}");
    }
}
