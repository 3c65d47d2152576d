//! The console's one message catalogue: fluent, a file per language
//! (`locales/zh-CN.ftl`, `locales/en.ftl`), zh-CN by default.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    /// From the `lang` cookie's value; zh-CN for anything else.
    pub fn from_cookie(v: Option<&str>) -> Lang {
        match v {
            Some("en") => Lang::En,
            _ => Lang::ZhCn,
        }
    }

    /// The cookie value and the `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Between the items of a list.
    pub fn list_separator(self) -> &'static str {
        match self {
            Lang::ZhCn => "、",
            Lang::En => ", ",
        }
    }

    /// The other language (the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }
}

pub(crate) const ZH_CN: &str = include_str!("locales/zh-CN.ftl");
pub(crate) const EN: &str = include_str!("locales/en.ftl");

fn bundle(tag: &str, text: &str) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = tag.parse().expect("a language tag");
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the pages are plain.
    b.set_use_isolating(false);
    let res = FluentResource::try_new(text.to_string()).expect("the catalogue parses");
    b.add_resource(res).expect("no message defined twice");
    b
}

fn bundles() -> &'static [FluentBundle<FluentResource>; 2] {
    static B: OnceLock<[FluentBundle<FluentResource>; 2]> = OnceLock::new();
    B.get_or_init(|| [bundle("zh-CN", ZH_CN), bundle("en", EN)])
}

/// The message `key` in `lang`, with `args`; the key itself if missing (a
/// test checks that none is).
pub fn t_args(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let b = &bundles()[match lang {
        Lang::ZhCn => 0,
        Lang::En => 1,
    }];
    let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
        return key.to_string();
    };
    let mut fa = FluentArgs::new();
    for (k, v) in args {
        fa.set(*k, v.clone());
    }
    let mut errors = Vec::new();
    b.format_pattern(pattern, Some(&fa), &mut errors)
        .into_owned()
}

/// The message `key` in `lang`.
pub fn t(lang: Lang, key: &str) -> String {
    t_args(lang, key, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of a catalogue's text.
    fn keys(text: &str) -> Vec<String> {
        let mut k: Vec<String> = text
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
            .filter(|k| !k.is_empty() && !k.starts_with('#'))
            .collect();
        k.sort();
        k
    }

    #[test]
    fn both_catalogues_have_the_same_messages_and_parse() {
        assert_eq!(keys(ZH_CN), keys(EN));
        for k in keys(ZH_CN) {
            assert_ne!(t(Lang::ZhCn, &k), k, "{k} in zh-CN");
            assert_ne!(t(Lang::En, &k), k, "{k} in en");
        }
        assert_eq!(t_args(Lang::ZhCn, "minutes", &[("m", 5.into())]), "5 分钟");
        assert_eq!(Lang::from_cookie(None), Lang::ZhCn);
        assert_eq!(Lang::from_cookie(Some("en")), Lang::En);
    }
}
