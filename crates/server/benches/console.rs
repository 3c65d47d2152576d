//! How long the console's board takes to render on the server, for 300
//! open cases (the issue's figure: under 300 ms), against the protobuf
//! encoding of the same cases (what the API sends for `ListCases`) in the
//! same run.
//!
//! ```text
//! cargo bench -p casehub-server --bench console
//! ```

use casehub_server::console::i18n::Lang;
use casehub_server::console::pages;
use casehub_server::proto;
use chrono::{TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message;

fn cases(n: usize) -> Vec<proto::CaseRecord> {
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let started = now - TimeDelta::minutes((i % 700) as i64);
            proto::CaseRecord {
                case: Some(proto::Case {
                    case_id: format!("C-{i:04}"),
                    origin_station_id: format!("S{:02}", i % 26 + 1),
                    clock_started_at: Some(prost_types::Timestamp {
                        seconds: started.timestamp(),
                        nanos: 0,
                    }),
                    category: "criminal_summons".into(),
                    persons: (0..1 + i % 3)
                        .map(|p| proto::Person {
                            person_id: format!("P{p}"),
                            gender: "male".into(),
                            name: format!("欧阳{i}号"),
                            id_number: "11010519491231002X".into(),
                            pseudonym: format!("人员-{:08x}", i * 7 + p),
                            ..Default::default()
                        })
                        .collect(),
                }),
                status: ["submitted", "planned", "in_progress"][i % 3].into(),
                particulars: "shown".into(),
                site_ids: vec!["MC".into()],
                ..Default::default()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let list = cases(300);
    let policy = casehub_model::legal::Policy::default();
    // Every station named, as on a loaded region.
    let names: std::collections::BTreeMap<String, String> = list
        .iter()
        .filter_map(|r| r.case.as_ref())
        .map(|c| {
            (
                c.origin_station_id.clone(),
                format!("{}派出所", c.origin_station_id),
            )
        })
        .collect();
    let now = Utc::now();
    let mut g = c.benchmark_group("board_300_cases");
    g.bench_function("console board (maud, zh-CN)", |b| {
        b.iter(|| {
            pages::board(Lang::ZhCn, &list, &policy, &names, now)
                .into_string()
                .len()
        })
    });
    let reply = proto::ListCasesReply {
        cases: list.clone(),
    };
    g.bench_function("ListCases protobuf encoding (peer)", |b| {
        b.iter(|| reply.encode_to_vec().len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
