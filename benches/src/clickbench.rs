//! ClickBench-style web analytics: a generated `hits` table and the 43 queries.
//!
//! `benches/clickbench/create.sql` is ClickBench's `hits` schema (its PostgreSQL form, 105
//! columns, without the PRIMARY KEY: rows arrive in its order instead) and
//! `benches/clickbench/queries/qNN.sql` its 43 queries, the text as ClickBench's with the
//! changes `benches/clickbench/SOURCE.md` lists (ties broken in ORDER BY, so that answers can be
//! compared). Nothing is downloaded: [`Generator`] makes the rows from a seed, the same rows for
//! the same seed and row count on any machine and thread count.
//!
//! The shapes follow the real table: one counter (CounterID 62, the site the last seven queries
//! filter on) takes about a third of the hits and the others a long tail; users, regions, pages
//! and search phrases are drawn with Zipf-like skew; a user keeps their region, IP, browser and
//! screen; URLs and titles are long, with a few mentioning Google; SearchPhrase is empty for
//! about 87% of hits and most of the rarely used columns are empty or zero; timestamps cover
//! July 2013 with a daily rhythm. The rows are sorted by ClickBench's primary key (CounterID,
//! EventDate, UserID, EventTime, WatchID), as its data file is. The constants the queries name
//! exist: UserID 435090932899640449 is a user, URLHash 2868770270353813622 is the hash of
//! counter 62's most visited page and RefererHash 3594120000172545465 that of an empty referer.

use std::sync::{Arc, OnceLock};

use arrow_array::builder::StringBuilder;
use arrow_array::{
    ArrayRef, Date32Array, Int16Array, Int32Array, Int64Array, RecordBatch,
    TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};
use basalt_storage::SqlType;
use rayon::prelude::*;

use crate::Rng;

/// `CREATE TABLE hits (...)`.
pub const SCHEMA_SQL: &str = include_str!("../clickbench/create.sql");

/// The 43 queries, `QUERIES[0]` being Q1.
pub const QUERIES: [&str; 43] = [
    include_str!("../clickbench/queries/q01.sql"),
    include_str!("../clickbench/queries/q02.sql"),
    include_str!("../clickbench/queries/q03.sql"),
    include_str!("../clickbench/queries/q04.sql"),
    include_str!("../clickbench/queries/q05.sql"),
    include_str!("../clickbench/queries/q06.sql"),
    include_str!("../clickbench/queries/q07.sql"),
    include_str!("../clickbench/queries/q08.sql"),
    include_str!("../clickbench/queries/q09.sql"),
    include_str!("../clickbench/queries/q10.sql"),
    include_str!("../clickbench/queries/q11.sql"),
    include_str!("../clickbench/queries/q12.sql"),
    include_str!("../clickbench/queries/q13.sql"),
    include_str!("../clickbench/queries/q14.sql"),
    include_str!("../clickbench/queries/q15.sql"),
    include_str!("../clickbench/queries/q16.sql"),
    include_str!("../clickbench/queries/q17.sql"),
    include_str!("../clickbench/queries/q18.sql"),
    include_str!("../clickbench/queries/q19.sql"),
    include_str!("../clickbench/queries/q20.sql"),
    include_str!("../clickbench/queries/q21.sql"),
    include_str!("../clickbench/queries/q22.sql"),
    include_str!("../clickbench/queries/q23.sql"),
    include_str!("../clickbench/queries/q24.sql"),
    include_str!("../clickbench/queries/q25.sql"),
    include_str!("../clickbench/queries/q26.sql"),
    include_str!("../clickbench/queries/q27.sql"),
    include_str!("../clickbench/queries/q28.sql"),
    include_str!("../clickbench/queries/q29.sql"),
    include_str!("../clickbench/queries/q30.sql"),
    include_str!("../clickbench/queries/q31.sql"),
    include_str!("../clickbench/queries/q32.sql"),
    include_str!("../clickbench/queries/q33.sql"),
    include_str!("../clickbench/queries/q34.sql"),
    include_str!("../clickbench/queries/q35.sql"),
    include_str!("../clickbench/queries/q36.sql"),
    include_str!("../clickbench/queries/q37.sql"),
    include_str!("../clickbench/queries/q38.sql"),
    include_str!("../clickbench/queries/q39.sql"),
    include_str!("../clickbench/queries/q40.sql"),
    include_str!("../clickbench/queries/q41.sql"),
    include_str!("../clickbench/queries/q42.sql"),
    include_str!("../clickbench/queries/q43.sql"),
];

/// The text of query `n` (1 to 43).
pub fn query(n: usize) -> Option<&'static str> {
    n.checked_sub(1).and_then(|i| QUERIES.get(i).copied())
}

/// Whether the query's result order is defined (it has an ORDER BY); otherwise results compare
/// as multisets.
pub fn is_ordered(sql: &str) -> bool {
    sql.to_ascii_lowercase().contains("order by")
}

/// The default seed of the generator.
pub const SEED: u64 = 0x0c11_c4be_4c40;

/// Rows per generated batch.
pub const BATCH_ROWS: usize = 65_536;

/// The counter most hits belong to; the last seven queries filter on it.
pub const COUNTER_TOP: i32 = 62;
/// The user Q20 looks up.
pub const USER_LOOKED_UP: i64 = 435_090_932_899_640_449;
/// The rank (0 most active) of [`USER_LOOKED_UP`] among the users.
const USER_LOOKED_UP_RANK: u64 = 1_000;
/// Q42's URLHash: the hash of counter 62's most visited page.
pub const URL_HASH_TOP: i64 = 2_868_770_270_353_813_622;
/// Q41's RefererHash: the hash of an empty referer.
pub const REFERER_HASH_EMPTY: i64 = 3_594_120_000_172_545_465;

/// Counters (sites) besides the top one.
const COUNTERS: u64 = 6_000;
/// Share of hits on [`COUNTER_TOP`] before the long tail adds its own.
const COUNTER_TOP_SHARE: f64 = 0.3;
/// Regions users live in.
const REGIONS: u64 = 9_000;
/// 2013-07-01 00:00:00 UTC, in seconds since the epoch.
const JULY_2013_SECONDS: i64 = 1_372_636_800;
const DAY_SECONDS: i64 = 86_400;
const DAYS: i64 = 31;

// Stream constants, so that the draws of keys, rows, users, pages and phrases are independent.
const STREAM_KEY: u64 = 0x6b65_7973;
const STREAM_ROW: u64 = 0x726f_7773;
const STREAM_USER: u64 = 0x7573_6572;
const STREAM_PAGE: u64 = 0x7061_6765;
const STREAM_PHRASE: u64 = 0x7068_7261;
const STREAM_SITE: u64 = 0x7369_7465;

/// The columns of `create.sql`, names folded to lower case as the engines fold them.
pub fn columns() -> &'static [(String, SqlType)] {
    static COLUMNS: OnceLock<Vec<(String, SqlType)>> = OnceLock::new();
    COLUMNS.get_or_init(|| parse_columns(SCHEMA_SQL))
}

/// `create.sql`'s column lines (`Name TYPE NOT NULL,`), with the few types it uses.
fn parse_columns(sql: &str) -> Vec<(String, SqlType)> {
    let mut out = Vec::new();
    for line in sql.lines() {
        let line = line.trim().trim_end_matches(',');
        let Some(def) = line.strip_suffix(" NOT NULL") else {
            continue;
        };
        let Some((name, ty)) = def.split_once(' ') else {
            continue;
        };
        let ty = match ty.to_ascii_uppercase().as_str() {
            "SMALLINT" => SqlType::SmallInt,
            "INTEGER" => SqlType::Integer,
            "BIGINT" => SqlType::BigInt,
            "TEXT" => SqlType::Text,
            "DATE" => SqlType::Date,
            "TIMESTAMP" => SqlType::Timestamp,
            "CHAR" => SqlType::Char { length: 1 },
            "VARCHAR(255)" => SqlType::Varchar { length: 255 },
            _ => continue,
        };
        out.push((name.to_ascii_lowercase(), ty));
    }
    out
}

/// The Arrow schema of the generated batches.
pub fn arrow_schema() -> SchemaRef {
    let fields: Vec<Field> = columns()
        .iter()
        .map(|(name, ty)| Field::new(name, ty.arrow_type(), false))
        .collect();
    Arc::new(Schema::new(fields))
}

/// SplitMix64's finalizer: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn rng_for(seed: u64, stream: u64, index: u64) -> Rng {
    Rng::new(mix(seed ^ mix(stream ^ mix(index))))
}

/// A uniform value in `[0, 1)`.
fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A rank in `0..n`, rank k drawn with probability about `1 / ((k + 1) ln n)`: Zipf with
/// exponent 1.
fn zipf(rng: &mut Rng, n: u64) -> u64 {
    let x = ((n + 1) as f64).powf(unit(rng));
    (x as u64).saturating_sub(1).min(n.saturating_sub(1))
}

/// A rank in `0..n` with a milder skew: `n * u^2`, so rank k has density about
/// `1 / (2 sqrt(k n))`.
fn skewed(rng: &mut Rng, n: u64) -> u64 {
    let u = unit(rng);
    ((n as f64 * u * u) as u64).min(n.saturating_sub(1))
}

fn chance(rng: &mut Rng, p: f64) -> bool {
    unit(rng) < p
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

/// Picks by weight: `items` are (value, weight).
fn weighted<T: Copy>(rng: &mut Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut r = rng.below(u64::from(total)) as u32;
    for &(v, w) in items {
        if r < w {
            return v;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// FNV-1a, 64 bits: the hash of URLs and referers.
fn fnv(s: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

const WORDS: &[&str] = &[
    "auto",
    "news",
    "sport",
    "video",
    "music",
    "photo",
    "games",
    "online",
    "free",
    "best",
    "shop",
    "market",
    "price",
    "sale",
    "buy",
    "cheap",
    "new",
    "top",
    "city",
    "weather",
    "maps",
    "travel",
    "hotel",
    "tickets",
    "flight",
    "train",
    "bank",
    "credit",
    "loan",
    "insurance",
    "job",
    "work",
    "career",
    "school",
    "study",
    "books",
    "library",
    "movie",
    "film",
    "series",
    "download",
    "torrent",
    "forum",
    "blog",
    "chat",
    "dating",
    "love",
    "family",
    "kids",
    "baby",
    "health",
    "doctor",
    "clinic",
    "diet",
    "fitness",
    "recipe",
    "food",
    "cooking",
    "restaurant",
    "pizza",
    "car",
    "cars",
    "bmw",
    "toyota",
    "lada",
    "ford",
    "repair",
    "parts",
    "tires",
    "phone",
    "mobile",
    "iphone",
    "samsung",
    "nokia",
    "laptop",
    "computer",
    "software",
    "windows",
    "linux",
    "android",
    "apps",
    "mail",
    "search",
    "home",
    "house",
    "flat",
    "rent",
    "realty",
    "garden",
    "furniture",
    "kitchen",
    "clothes",
    "shoes",
    "fashion",
    "beauty",
    "catalog",
    "review",
    "compare",
    "forecast",
    "russia",
    "moscow",
    "kiev",
    "minsk",
    "region",
    "district",
    "street",
    "metro",
    "taxi",
    "delivery",
    "service",
    "support",
    "help",
    "faq",
    "about",
    "contacts",
    "index",
    "page",
    "article",
    "item",
    "product",
    "category",
    "list",
    "detail",
    "gallery",
    "archive",
    "2012",
    "2013",
    "july",
    "summer",
    "holiday",
    "sea",
    "beach",
    "fishing",
    "hunting",
    "football",
    "hockey",
    "tennis",
    "chess",
    "poker",
    "casino",
    "lottery",
    "horoscope",
    "astrology",
    "anime",
    "cartoon",
    "comics",
    "history",
    "science",
    "physics",
    "math",
];

const CYRILLIC: &[&str] = &[
    "новости",
    "погода",
    "авто",
    "купить",
    "цена",
    "скачать",
    "бесплатно",
    "фильмы",
    "онлайн",
    "смотреть",
    "музыка",
    "работа",
    "москва",
    "квартира",
    "продажа",
    "отзывы",
    "игры",
    "карта",
    "расписание",
    "билеты",
    "одноклассники",
    "вконтакте",
    "почта",
    "знакомства",
    "рецепты",
    "ремонт",
    "телефон",
    "запчасти",
    "шины",
    "кредит",
    "банк",
    "школа",
    "книги",
    "сериал",
    "фото",
    "видео",
    "футбол",
    "хоккей",
    "гороскоп",
    "курс",
    "доллара",
    "евро",
    "магазин",
];

const TLDS: &[(&str, u32)] = &[
    ("ru", 60),
    ("com", 15),
    ("net", 5),
    ("org", 4),
    ("ua", 6),
    ("by", 3),
    ("kz", 2),
    ("info", 3),
    ("su", 2),
];

fn word(rng: &mut Rng, cyrillic_share: f64) -> &'static str {
    if chance(rng, cyrillic_share) {
        pick(rng, CYRILLIC)
    } else {
        // Popular words come first: a skewed pick keeps some words common.
        WORDS[skewed(rng, WORDS.len() as u64) as usize]
    }
}

/// A counter's rank: 0 is [`COUNTER_TOP`], then a long tail.
fn counter_rank(rng: &mut Rng) -> u64 {
    if chance(rng, COUNTER_TOP_SHARE) {
        0
    } else {
        zipf(rng, COUNTERS)
    }
}

fn counter_id(rank: u64) -> i32 {
    if rank == 0 {
        COUNTER_TOP
    } else {
        // Distinct for distinct ranks: each rank owns the ids 100 + 13r .. 100 + 13r + 12.
        (100 + 13 * rank + mix(rank) % 13) as i32
    }
}

/// The site of a counter: its domain and whether URLs start with `https://` and `www.`.
struct Site {
    domain: String,
    https: bool,
    www: bool,
    /// Distinct pages the site has.
    pages: u64,
    /// Its name in page titles.
    name: String,
}

fn site(seed: u64, rank: u64) -> Site {
    let mut rng = rng_for(seed, STREAM_SITE, rank);
    let pages = (200_000 / (rank + 1)).max(40);
    if rank % 97 == 13 {
        // A few sites are Google's own: their URLs contain ".google.".
        let sub = pick(&mut rng, &["maps", "plus", "translate", "news", "play"]);
        let tld = pick(&mut rng, &["ru", "com", "com.ua", "by"]);
        return Site {
            domain: format!("{sub}.google.{tld}"),
            https: true,
            www: false,
            pages,
            name: format!("Google {sub}"),
        };
    }
    let a = WORDS[rng.below(WORDS.len() as u64) as usize];
    let b = WORDS[rng.below(WORDS.len() as u64) as usize];
    let tld = weighted(&mut rng, TLDS);
    let domain = if rank == 0 {
        "avto-moskva.ru".to_string()
    } else if chance(&mut rng, 0.5) {
        format!("{a}{b}.{tld}")
    } else {
        format!("{a}-{b}{}.{tld}", rng.below(100))
    };
    Site {
        name: format!("{}{} {b}", a[..1].to_ascii_uppercase(), &a[1..]),
        domain,
        https: chance(&mut rng, 0.3),
        www: chance(&mut rng, 0.4),
        pages,
    }
}

/// Page `page` of counter `rank`: its URL and title.
fn page(seed: u64, site: &Site, rank: u64, page: u64) -> (String, String) {
    let mut rng = rng_for(seed, STREAM_PAGE, rank.wrapping_mul(1 << 32) ^ page);
    let mut url = String::with_capacity(160);
    url.push_str(if site.https { "https://" } else { "http://" });
    if site.www {
        url.push_str("www.");
    }
    url.push_str(&site.domain);
    url.push('/');
    let segments = weighted(
        &mut rng,
        &[(0, 5), (1, 20), (2, 30), (3, 25), (4, 12), (6, 8)],
    );
    for s in 0..segments {
        if s > 0 {
            url.push('/');
        }
        if chance(&mut rng, 0.25) {
            url.push_str(&rng.below(1_000_000).to_string());
        } else {
            url.push_str(word(&mut rng, 0.0));
            if chance(&mut rng, 0.4) {
                url.push('-');
                url.push_str(word(&mut rng, 0.0));
            }
        }
    }
    if segments > 0 && chance(&mut rng, 0.3) {
        url.push_str(".html");
    }
    let params = weighted(&mut rng, &[(0, 45), (1, 20), (2, 15), (3, 10), (5, 10)]);
    for p in 0..params {
        url.push(if p == 0 { '?' } else { '&' });
        let key = pick(
            &mut rng,
            &[
                "id",
                "page",
                "sort",
                "q",
                "ref",
                "utm_source",
                "from",
                "cat",
                "lang",
                "sid",
            ],
        );
        url.push_str(key);
        url.push('=');
        match key {
            "from" | "utm_source" if chance(&mut rng, 0.1) => url.push_str("google"),
            "sid" => url.push_str(&format!("{:016x}", rng.next_u64())),
            "q" => url.push_str(word(&mut rng, 0.0)),
            _ => url.push_str(&rng.below(100_000).to_string()),
        }
    }
    let title = if chance(&mut rng, 0.03) {
        String::new()
    } else {
        let words = 3 + rng.below(10);
        let mut t = String::with_capacity(100);
        for i in 0..words {
            if i > 0 {
                t.push(' ');
            }
            if chance(&mut rng, 0.004) {
                t.push_str("Google");
            } else {
                let w = word(&mut rng, 0.35);
                if i == 0 {
                    let mut chars = w.chars();
                    if let Some(c) = chars.next() {
                        t.extend(c.to_uppercase());
                        t.push_str(chars.as_str());
                    }
                } else {
                    t.push_str(w);
                }
            }
        }
        t.push_str(" - ");
        t.push_str(&site.name);
        t
    };
    (url, title)
}

/// A search phrase by popularity rank.
fn phrase(seed: u64, rank: u64) -> String {
    let mut rng = rng_for(seed, STREAM_PHRASE, rank);
    let words = weighted(&mut rng, &[(1, 25), (2, 40), (3, 25), (4, 10)]);
    let mut p = String::new();
    for i in 0..words {
        if i > 0 {
            p.push(' ');
        }
        p.push_str(word(&mut rng, 0.6));
    }
    p
}

/// What a user keeps from hit to hit.
struct User {
    region: i32,
    ip: i32,
    os: i16,
    agent: i16,
    agent_major: i16,
    agent_minor: &'static str,
    resolution: (i16, i16, i16),
    mobile: Option<(i16, &'static str)>,
    java: i16,
    javascript: i16,
    cookies: i16,
    flash: (i16, i16),
    silverlight: (i16, i16, i32, i16),
    time_zone: i16,
    language: &'static str,
    country: &'static str,
    age: i16,
    sex: i16,
    income: i16,
    interests: i16,
    funiq: i64,
}

fn user_id(rank: u64) -> i64 {
    if rank == USER_LOOKED_UP_RANK {
        USER_LOOKED_UP
    } else {
        (mix(rank ^ 0x5553_4552) >> 1) as i64
    }
}

fn region_id(rank: u64) -> i32 {
    match rank {
        0 => 229,
        1 => 2,
        // Distinct for distinct ranks.
        _ => (10 + 3 * rank + mix(rank) % 3) as i32,
    }
}

fn user(seed: u64, rank: u64) -> User {
    let mut rng = rng_for(seed, STREAM_USER, rank);
    let mobile = chance(&mut rng, 0.12);
    let resolution = if mobile {
        pick(
            &mut rng,
            &[
                (320, 480, 32),
                (480, 800, 32),
                (768, 1024, 32),
                (720, 1280, 32),
            ],
        )
    } else {
        weighted(
            &mut rng,
            &[
                ((1366, 768, 24), 30),
                ((1920, 1080, 24), 20),
                ((1280, 1024, 24), 12),
                ((1280, 800, 24), 10),
                ((1024, 768, 24), 10),
                ((1600, 900, 24), 8),
                ((1440, 900, 24), 6),
                ((0, 0, 0), 4),
            ],
        )
    };
    let models: &[(i16, &str)] = &[
        (1, "iPad"),
        (1, "iPhone"),
        (5, "GT-I9300"),
        (5, "GT-I9100"),
        (5, "GT-N7100"),
        (6, "HTC Desire"),
        (7, "Nokia N8"),
        (8, "LG-P500"),
        (9, "MI 2"),
        (10, "Lenovo A800"),
    ];
    let ip = (mix(rank ^ 0x4950) >> 34) as i32 + 16_777_216;
    User {
        region: region_id(zipf(&mut rng, REGIONS)),
        ip,
        os: weighted(
            &mut rng,
            &[(2, 40), (3, 10), (5, 5), (44, 20), (56, 10), (106, 15)],
        ),
        agent: weighted(
            &mut rng,
            &[(2, 20), (3, 10), (4, 25), (7, 30), (22, 10), (42, 5)],
        ),
        agent_major: pick(&mut rng, &[7, 8, 9, 10, 11, 18, 21, 22, 25, 27]),
        agent_minor: pick(&mut rng, &["0", "1", "5", "a", "b", "45"]),
        resolution,
        mobile: (mobile && chance(&mut rng, 0.6)).then(|| pick(&mut rng, models)),
        java: i16::from(chance(&mut rng, 0.6)),
        javascript: i16::from(chance(&mut rng, 0.97)),
        cookies: i16::from(chance(&mut rng, 0.98)),
        flash: if chance(&mut rng, 0.8) {
            (
                pick(&mut rng, &[10, 11]),
                pick(&mut rng, &[0, 1, 2, 3, 5, 7]),
            )
        } else {
            (0, 0)
        },
        silverlight: if chance(&mut rng, 0.3) {
            (5, 1, rng.below(60_000) as i32, 0)
        } else {
            (0, 0, 0, 0)
        },
        time_zone: weighted(
            &mut rng,
            &[(-1, 5), (3, 60), (4, 15), (2, 10), (6, 5), (0, 5)],
        ),
        language: weighted(
            &mut rng,
            &[("ru", 80), ("en", 8), ("uk", 6), ("be", 2), ("de", 4)],
        ),
        country: weighted(
            &mut rng,
            &[("ru", 75), ("ua", 10), ("by", 5), ("kz", 4), ("us", 6)],
        ),
        age: pick(&mut rng, &[0, 0, 1, 2, 3, 4, 5]),
        sex: pick(&mut rng, &[0, 1, 2]),
        income: pick(&mut rng, &[0, 1, 2, 3]),
        interests: rng.below(1_000) as i16,
        funiq: if chance(&mut rng, 0.7) {
            (rng.next_u64() >> 1) as i64
        } else {
            0
        },
    }
}

/// A hit's sort key and what is drawn before sorting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    counter: i32,
    day: i32,
    user: i64,
    /// Seconds since the epoch.
    time: i64,
    watch: i64,
    counter_rank: u32,
    user_rank: u32,
    /// The hit's index before sorting: the seed of its other values.
    index: u64,
}

/// Hours of the day weighted by traffic (a day's rhythm: quiet nights, busy evenings).
const HOURS: [(i64, u32); 24] = [
    (0, 30),
    (1, 20),
    (2, 12),
    (3, 8),
    (4, 6),
    (5, 6),
    (6, 10),
    (7, 20),
    (8, 40),
    (9, 60),
    (10, 70),
    (11, 75),
    (12, 75),
    (13, 72),
    (14, 70),
    (15, 70),
    (16, 72),
    (17, 75),
    (18, 80),
    (19, 85),
    (20, 85),
    (21, 75),
    (22, 60),
    (23, 45),
];

fn key(seed: u64, users: u64, index: u64) -> Key {
    let mut rng = rng_for(seed, STREAM_KEY, index);
    let counter_rank = counter_rank(&mut rng);
    let user_rank = skewed(&mut rng, users);
    // Weekends (July 6-7, 13-14, 20-21, 27-28) are a little quieter.
    let day = loop {
        let d = rng.below(DAYS as u64) as i64;
        let weekend = matches!(d % 7, 5 | 6);
        if !weekend || chance(&mut rng, 0.8) {
            break d;
        }
    };
    let hour = weighted(&mut rng, &HOURS);
    let time = JULY_2013_SECONDS + day * DAY_SECONDS + hour * 3600 + rng.below(3600) as i64;
    Key {
        counter: counter_id(counter_rank),
        day: (time.div_euclid(DAY_SECONDS)) as i32,
        user: user_id(user_rank),
        time,
        watch: (rng.next_u64() >> 1) as i64,
        counter_rank: counter_rank as u32,
        user_rank: user_rank as u32,
        index,
    }
}

/// One column being built.
enum Builder {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Date(Vec<i32>),
    Timestamp(Vec<i64>),
    Text(StringBuilder),
}

/// The batch being built: values are pushed row by row in `create.sql`'s column order. The
/// first row of a batch checks each push against the column's name and type.
struct Columns {
    builders: Vec<Builder>,
    next: usize,
    checking: bool,
    error: Option<String>,
}

impl Columns {
    fn new(rows: usize) -> Columns {
        let builders = columns()
            .iter()
            .map(|(_, ty)| match ty {
                SqlType::SmallInt => Builder::I16(Vec::with_capacity(rows)),
                SqlType::Integer => Builder::I32(Vec::with_capacity(rows)),
                SqlType::BigInt => Builder::I64(Vec::with_capacity(rows)),
                SqlType::Date => Builder::Date(Vec::with_capacity(rows)),
                SqlType::Timestamp => Builder::Timestamp(Vec::with_capacity(rows)),
                _ => Builder::Text(StringBuilder::with_capacity(rows, rows * 8)),
            })
            .collect();
        Columns {
            builders,
            next: 0,
            checking: true,
            error: None,
        }
    }

    /// The builder of the next column, after checking (on a batch's first row) that it is
    /// `name`.
    fn slot(&mut self, name: &str) -> Option<&mut Builder> {
        let i = self.next;
        self.next += 1;
        if self.checking {
            match columns().get(i) {
                Some((n, _)) if n == name => {}
                other => {
                    self.error.get_or_insert_with(|| {
                        format!(
                            "column {i} is {:?}, the generator wrote {name}",
                            other.map(|c| &c.0)
                        )
                    });
                    return None;
                }
            }
        }
        self.builders.get_mut(i)
    }

    fn i16(&mut self, name: &str, v: i16) {
        match self.slot(name) {
            Some(Builder::I16(b)) => b.push(v),
            _ => self.mismatch(name),
        }
    }

    fn i32(&mut self, name: &str, v: i32) {
        match self.slot(name) {
            Some(Builder::I32(b)) => b.push(v),
            _ => self.mismatch(name),
        }
    }

    fn i64(&mut self, name: &str, v: i64) {
        match self.slot(name) {
            Some(Builder::I64(b)) => b.push(v),
            _ => self.mismatch(name),
        }
    }

    fn date(&mut self, name: &str, days: i32) {
        match self.slot(name) {
            Some(Builder::Date(b)) => b.push(days),
            _ => self.mismatch(name),
        }
    }

    /// A timestamp given in seconds since the epoch.
    fn timestamp(&mut self, name: &str, seconds: i64) {
        match self.slot(name) {
            Some(Builder::Timestamp(b)) => b.push(seconds * 1_000_000),
            _ => self.mismatch(name),
        }
    }

    fn text(&mut self, name: &str, v: &str) {
        match self.slot(name) {
            Some(Builder::Text(b)) => b.append_value(v),
            _ => self.mismatch(name),
        }
    }

    fn mismatch(&mut self, name: &str) {
        self.error
            .get_or_insert_with(|| format!("column {name}: the generator wrote the wrong type"));
    }

    fn end_row(&mut self) {
        if self.next != self.builders.len() {
            self.error.get_or_insert_with(|| {
                format!(
                    "a row has {} values for {} columns",
                    self.next,
                    self.builders.len()
                )
            });
        }
        self.next = 0;
        self.checking = false;
    }

    fn finish(self) -> Result<RecordBatch, ArrowError> {
        if let Some(e) = self.error {
            return Err(ArrowError::InvalidArgumentError(e));
        }
        let arrays: Vec<ArrayRef> = self
            .builders
            .into_iter()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::I16(v) => Arc::new(Int16Array::from(v)),
                    Builder::I32(v) => Arc::new(Int32Array::from(v)),
                    Builder::I64(v) => Arc::new(Int64Array::from(v)),
                    Builder::Date(v) => Arc::new(Date32Array::from(v)),
                    Builder::Timestamp(v) => Arc::new(TimestampMicrosecondArray::from(v)),
                    Builder::Text(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        RecordBatch::try_new(arrow_schema(), arrays)
    }
}

/// The hits table's generator: `rows` hits from `seed`, sorted by ClickBench's primary key.
pub struct Generator {
    seed: u64,
    keys: Vec<Key>,
}

impl Generator {
    /// Draws every hit's key (counter, user, time, WatchID) and sorts them; the other columns
    /// are made batch by batch by [`Generator::batch`].
    pub fn new(rows: u64, seed: u64) -> Generator {
        let users = (rows / 6).max(USER_LOOKED_UP_RANK + 1_000);
        let mut keys: Vec<Key> = (0..rows)
            .into_par_iter()
            .map(|i| key(seed, users, i))
            .collect();
        keys.par_sort_unstable();
        Generator { seed, keys }
    }

    pub fn rows(&self) -> u64 {
        self.keys.len() as u64
    }

    /// How many batches of [`BATCH_ROWS`] rows the table has.
    pub fn batches(&self) -> usize {
        self.keys.len().div_ceil(BATCH_ROWS)
    }

    /// Batch `i` (rows `i * BATCH_ROWS ..`).
    pub fn batch(&self, i: usize) -> Result<RecordBatch, ArrowError> {
        let start = (i * BATCH_ROWS).min(self.keys.len());
        let end = (start + BATCH_ROWS).min(self.keys.len());
        let keys = &self.keys[start..end];
        let mut cols = Columns::new(keys.len());
        let top_url = page(self.seed, &site(self.seed, 0), 0, 0).0;
        let mut last_counter = None;
        let mut current_site = site(self.seed, 0);
        let mut last_user = None;
        let mut current_user = user(self.seed, 0);
        for k in keys {
            if last_counter != Some(k.counter_rank) {
                current_site = site(self.seed, u64::from(k.counter_rank));
                last_counter = Some(k.counter_rank);
            }
            if last_user != Some(k.user_rank) {
                current_user = user(self.seed, u64::from(k.user_rank));
                last_user = Some(k.user_rank);
            }
            hit(
                self.seed,
                k,
                &current_site,
                &current_user,
                &top_url,
                &mut cols,
            );
            cols.end_row();
        }
        cols.finish()
    }

    /// Makes every batch, `threads` at a time in parallel, handing each group to `each` in
    /// order.
    pub fn generate<E>(
        &self,
        mut each: impl FnMut(Vec<RecordBatch>) -> Result<(), E>,
    ) -> Result<u64, E>
    where
        E: From<ArrowError>,
    {
        let group = rayon::current_num_threads().max(1);
        let mut first = 0;
        while first < self.batches() {
            let last = (first + group).min(self.batches());
            let batches: Result<Vec<RecordBatch>, ArrowError> = (first..last)
                .into_par_iter()
                .map(|i| self.batch(i))
                .collect();
            each(batches?)?;
            first = last;
        }
        Ok(self.rows())
    }
}

fn url_hash(url: &str, top_url: &str) -> i64 {
    if url.is_empty() {
        REFERER_HASH_EMPTY
    } else if url == top_url {
        URL_HASH_TOP
    } else {
        fnv(url)
    }
}

/// Pushes one hit's 105 values.
fn hit(seed: u64, k: &Key, home: &Site, user: &User, top_url: &str, c: &mut Columns) {
    let mut rng = rng_for(seed, STREAM_ROW, k.index);
    let counter_rank = u64::from(k.counter_rank);
    let page_rank = zipf(&mut rng, home.pages);
    let (url, title) = page(seed, home, counter_rank, page_rank);

    // Where the visitor came from.
    let search = chance(&mut rng, 0.13);
    let adv = if !search && chance(&mut rng, 0.02) {
        pick(&mut rng, &[2, 3, 4, 12, 13, 27, 30, 33])
    } else {
        0i16
    };
    let mut search_engine = 0i16;
    let mut search_phrase = String::new();
    let mut social = ("", "", 0i16, "");
    let (referer, trafic_source) = if search {
        search_engine = weighted(&mut rng, &[(2, 60), (3, 30), (1, 4), (4, 3), (5, 3)]);
        search_phrase = phrase(seed, zipf(&mut rng, 200_000));
        let q = search_phrase.replace(' ', "+");
        let r = match search_engine {
            3 => format!("https://www.google.ru/search?q={q}&ie=utf-8"),
            2 => format!("http://yandex.ru/yandsearch?text={q}&lr={}", user.region),
            _ => format!("http://go.mail.ru/search?q={q}"),
        };
        (r, 2i16)
    } else if adv != 0 {
        (
            format!("http://an.yandex.ru/count/{:x}", rng.next_u64() >> 20),
            3,
        )
    } else {
        let r = unit(&mut rng);
        if r < 0.35 {
            (String::new(), pick(&mut rng, &[0, 0, 0, 6, 6]))
        } else if r < 0.75 {
            // Another page of the same site.
            (
                page(seed, home, counter_rank, zipf(&mut rng, home.pages)).0,
                -1,
            )
        } else if r < 0.82 {
            social = pick(
                &mut rng,
                &[
                    ("vkontakte", "like", 1, "http://vk.com/feed"),
                    ("facebook", "share", 2, "https://www.facebook.com/"),
                    ("odnoklassniki", "", 3, "http://www.odnoklassniki.ru/"),
                    ("twitter", "tweet", 4, "https://twitter.com/"),
                ],
            );
            (social.3.to_string(), 8)
        } else {
            // A page of another site.
            let other = zipf(&mut rng, COUNTERS);
            let s = site(seed, other);
            (page(seed, &s, other, zipf(&mut rng, s.pages)).0, 1)
        }
    };
    let refresh = i16::from(chance(&mut rng, 0.08));
    let link = i16::from(chance(&mut rng, 0.04));
    let download = i16::from(chance(&mut rng, 0.01));
    let dont_count = i16::from(chance(&mut rng, 0.04));
    let (width, height, depth) = user.resolution;
    let client_ip = if chance(&mut rng, 0.1) {
        user.ip.wrapping_add(rng.below(256) as i32)
    } else {
        user.ip
    };
    let has_params = chance(&mut rng, 0.05);
    let utm = !search && adv != 0 && chance(&mut rng, 0.5);

    c.i64("watchid", k.watch);
    c.i16("javaenable", user.java);
    c.text("title", &title);
    c.i16("goodevent", i16::from(!chance(&mut rng, 0.01)));
    c.timestamp("eventtime", k.time);
    c.date("eventdate", k.day);
    c.i32("counterid", k.counter);
    c.i32("clientip", client_ip);
    c.i32("regionid", user.region);
    c.i64("userid", k.user);
    c.i16("counterclass", (counter_rank % 3) as i16);
    c.i16("os", user.os);
    c.i16("useragent", user.agent);
    c.text("url", &url);
    c.text("referer", &referer);
    c.i16("isrefresh", refresh);
    c.i16(
        "referercategoryid",
        if referer.is_empty() {
            0
        } else {
            rng.below(20) as i16
        },
    );
    c.i32(
        "refererregionid",
        if referer.is_empty() { 0 } else { user.region },
    );
    c.i16("urlcategoryid", (mix(counter_rank) % 40) as i16);
    c.i32(
        "urlregionid",
        if chance(&mut rng, 0.5) {
            user.region
        } else {
            0
        },
    );
    c.i16("resolutionwidth", width);
    c.i16("resolutionheight", height);
    c.i16("resolutiondepth", depth);
    c.i16("flashmajor", user.flash.0);
    c.i16("flashminor", user.flash.1);
    c.text("flashminor2", if user.flash.0 > 0 { "181" } else { "" });
    c.i16("netmajor", if chance(&mut rng, 0.2) { 4 } else { 0 });
    c.i16("netminor", if chance(&mut rng, 0.2) { 5 } else { 0 });
    c.i16("useragentmajor", user.agent_major);
    c.text("useragentminor", user.agent_minor);
    c.i16("cookieenable", user.cookies);
    c.i16("javascriptenable", user.javascript);
    c.i16(
        "ismobile",
        i16::from(user.mobile.is_some() || (width > 0 && width < 800)),
    );
    c.i16("mobilephone", user.mobile.map_or(0, |m| m.0));
    c.text("mobilephonemodel", user.mobile.map_or("", |m| m.1));
    let params = if has_params {
        format!(
            "{{\"goal\":\"{}\",\"step\":{}}}",
            word(&mut rng, 0.0),
            rng.below(10)
        )
    } else {
        String::new()
    };
    c.text("params", &params);
    c.i32("ipnetworkid", client_ip >> 8);
    c.i16("traficsourceid", trafic_source);
    c.i16("searchengineid", search_engine);
    c.text("searchphrase", &search_phrase);
    c.i16("advengineid", adv);
    c.i16("isartifical", i16::from(chance(&mut rng, 0.002)));
    let window_width = if width > 0 {
        width - rng.below(40) as i16
    } else {
        0
    };
    let window_height = if height > 0 {
        height - 100 - rng.below(150) as i16
    } else {
        0
    };
    c.i16("windowclientwidth", window_width);
    c.i16("windowclientheight", window_height.max(0));
    c.i16("clienttimezone", user.time_zone);
    c.timestamp("clienteventtime", k.time + rng.below(600) as i64 - 300);
    c.i16("silverlightversion1", user.silverlight.0);
    c.i16("silverlightversion2", user.silverlight.1);
    c.i32("silverlightversion3", user.silverlight.2);
    c.i16("silverlightversion4", user.silverlight.3);
    c.text(
        "pagecharset",
        weighted(&mut rng, &[("utf-8", 60), ("windows-1251", 30), ("", 10)]),
    );
    c.i32("codeversion", pick(&mut rng, &[0, 231, 273, 348, 380]));
    c.i16("islink", link);
    c.i16("isdownload", download);
    c.i16("isnotbounce", i16::from(chance(&mut rng, 0.6)));
    c.i64("funiqid", user.funiq);
    c.text("originalurl", if chance(&mut rng, 0.1) { &url } else { "" });
    c.i32("hid", (rng.next_u64() >> 33) as i32);
    c.i16("isoldcounter", i16::from(counter_rank % 11 == 5));
    c.i16("isevent", i16::from(chance(&mut rng, 0.02)));
    c.i16("isparameter", i16::from(has_params));
    c.i16("dontcounthits", dont_count);
    c.i16("withhash", i16::from(chance(&mut rng, 0.03)));
    c.text(
        "hitcolor",
        weighted(&mut rng, &[("F", 50), ("D", 25), ("E", 20), ("T", 5)]),
    );
    c.timestamp(
        "localeventtime",
        k.time + i64::from(user.time_zone - 3) * 3600,
    );
    c.i16("age", user.age);
    c.i16("sex", user.sex);
    c.i16("income", user.income);
    c.i16("interests", user.interests);
    c.i16("robotness", if chance(&mut rng, 0.03) { 1 } else { 0 });
    c.i32("remoteip", client_ip ^ (rng.below(4) as i32));
    c.i32(
        "windowname",
        if chance(&mut rng, 0.7) {
            -1
        } else {
            rng.below(1 << 20) as i32
        },
    );
    c.i32(
        "openername",
        if chance(&mut rng, 0.9) {
            -1
        } else {
            rng.below(1 << 20) as i32
        },
    );
    c.i16("historylength", rng.below(20) as i16);
    c.text("browserlanguage", user.language);
    c.text("browsercountry", user.country);
    c.text("socialnetwork", social.0);
    c.text("socialaction", social.1);
    c.i16("httperror", if chance(&mut rng, 0.005) { 404 } else { 0 });
    let timed = chance(&mut rng, 0.3);
    let mut timing = |scale: u64| -> i32 {
        if timed {
            let u = unit(&mut rng);
            (scale as f64 * u * u * 4.0) as i32
        } else {
            0
        }
    };
    let send = timing(50);
    let dns = timing(30);
    let connect = timing(80);
    let start = timing(300);
    let end = start + timing(200);
    let fetch = timing(600);
    c.i32("sendtiming", send);
    c.i32("dnstiming", dns);
    c.i32("connecttiming", connect);
    c.i32("responsestarttiming", start);
    c.i32("responseendtiming", end);
    c.i32("fetchtiming", fetch);
    c.i16("socialsourcenetworkid", social.2);
    c.text(
        "socialsourcepage",
        if social.2 != 0 { social.3 } else { "" },
    );
    let order = chance(&mut rng, 0.003);
    c.i64(
        "paramprice",
        if order {
            rng.below(100_000) as i64 * 100
        } else {
            0
        },
    );
    let order_id = if order {
        format!("{}", rng.below(10_000_000))
    } else {
        String::new()
    };
    c.text("paramorderid", &order_id);
    c.text("paramcurrency", if order { "RUB" } else { "" });
    c.i16("paramcurrencyid", if order { 643 } else { 0 });
    let openstat = chance(&mut rng, 0.01);
    c.text(
        "openstatservicename",
        if openstat { "direct.yandex.ru" } else { "" },
    );
    let campaign = if openstat {
        format!("{}", rng.below(100_000))
    } else {
        String::new()
    };
    c.text("openstatcampaignid", &campaign);
    c.text("openstatadid", if openstat { "ad" } else { "" });
    c.text("openstatsourceid", if openstat { "src" } else { "" });
    c.text("utmsource", if utm { "yandex" } else { "" });
    c.text("utmmedium", if utm { "cpc" } else { "" });
    let utm_campaign = if utm {
        format!("campaign_{}", rng.below(500))
    } else {
        String::new()
    };
    c.text("utmcampaign", &utm_campaign);
    c.text("utmcontent", "");
    c.text("utmterm", if utm { &search_phrase } else { "" });
    c.text("fromtag", if chance(&mut rng, 0.01) { "mail" } else { "" });
    c.i16(
        "hasgclid",
        i16::from(search_engine == 3 && chance(&mut rng, 0.2)),
    );
    c.i64("refererhash", url_hash(&referer, top_url));
    c.i64("urlhash", url_hash(&url, top_url));
    c.i32(
        "clid",
        if chance(&mut rng, 0.05) {
            rng.below(3_000_000) as i32
        } else {
            0
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    // create.sql's 105 columns are all parsed, in order.
    #[test]
    fn schema_has_every_column() {
        let cols = columns();
        assert_eq!(cols.len(), 105);
        assert_eq!(cols[0], ("watchid".to_string(), SqlType::BigInt));
        assert_eq!(cols[104], ("clid".to_string(), SqlType::Integer));
        let lines = SCHEMA_SQL
            .lines()
            .filter(|l| l.contains("NOT NULL"))
            .count();
        assert_eq!(lines, cols.len());
    }

    // The Zipf draw stays in range and favours low ranks.
    #[test]
    fn zipf_is_skewed_and_in_range() {
        let mut rng = Rng::new(1);
        let draws: Vec<u64> = (0..10_000).map(|_| zipf(&mut rng, 1_000)).collect();
        assert!(draws.iter().all(|d| *d < 1_000));
        let low = draws.iter().filter(|d| **d < 10).count();
        let high = draws.iter().filter(|d| (500..510).contains(*d)).count();
        assert!(
            low > 10 * high.max(1),
            "{low} draws below 10, {high} in 500..510"
        );
    }
}
