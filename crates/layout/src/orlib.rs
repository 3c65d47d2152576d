//! Parsers for J. E. Beasley's OR-Library facility-location files, from text.
//!
//! # p-median: `pmed1.txt` .. `pmed40.txt`
//!
//! The first line holds `n m p`: vertices, edges, medians. Then `m` lines `i j cost`, one
//! undirected edge each, vertices numbered from 1. As OR-Library prescribes, edges are read
//! in turn setting `c(i,j) = c(j,i) = cost`, so when an edge appears twice **the last
//! occurrence wins** (the published optima depend on this). The cost matrix is the all-pairs
//! shortest-path distance (Floyd–Warshall). Every vertex is a client with demand 1 and a
//! candidate facility. [`parse_pmed`] returns the instance and `p`.
//!
//! # Capacitated warehouse location: `cap41` .. `cap134`, `capa`, `capb`, `capc`
//!
//! The first line holds `m n`: warehouses, customers. Then `m` lines `capacity fixed_cost`.
//! Then, for each customer, its demand followed by `m` allocation costs: the cost of
//! serving *all* of that customer's demand from each warehouse. Lines wrap arbitrarily, so
//! the file is read as a stream of whitespace-separated tokens. Numbers may be written like
//! `7500.` or `.00000`. In `capa`/`capb`/`capc` the capacity field is the literal word
//! `capacity`: the user chooses the capacity, so [`parse_cap`] needs a `capacity_override`
//! for those files (and when given, it replaces every warehouse's capacity).
//!
//! # Errors
//!
//! Every problem is a [`LayoutError::Parse`] naming the 1-based line, the token found (or
//! end of input) and what was expected, or, for a pmed graph that is not connected,
//! [`LayoutError::InvalidInstance`]. The parsers never panic, whatever the input.

use crate::instance::check_value;
use crate::{Instance, LayoutError};

/// Largest p-median graph accepted (the distance matrix is `n * n` numbers; OR-Library's
/// largest has 900 vertices).
pub const MAX_PMED_VERTICES: usize = 5_000;

/// A parsed `pmed` file.
#[derive(Debug, Clone, PartialEq)]
pub struct PmedFile {
    /// Every vertex as a client (demand 1) and as a candidate facility, named `"1"`..`"n"`;
    /// costs are shortest-path distances.
    pub instance: Instance,
    /// The number of medians the file asks for.
    pub p: usize,
}

/// Parses an OR-Library p-median file (see the [module docs](self)).
pub fn parse_pmed(text: &str) -> Result<PmedFile, LayoutError> {
    let mut tokens = Tokens::new(text);
    let (line_n, n) = tokens.count("the number of vertices n")?;
    let (line_m, m) = tokens.count("the number of edges m")?;
    let (line_p, p) = tokens.count("the number of medians p")?;
    if n == 0 || n > MAX_PMED_VERTICES {
        return Err(parse_error(
            line_n,
            &n.to_string(),
            format!("a number of vertices between 1 and {MAX_PMED_VERTICES}"),
        ));
    }
    if p == 0 || p > n {
        return Err(parse_error(
            line_p,
            &p.to_string(),
            format!("a number of medians p between 1 and n = {n}"),
        ));
    }
    // Edges are collected as they are read, never pre-allocated from the header, so a
    // header promising more edges than the text holds fails at the end of input.
    let mut edges = Vec::new();
    for k in 1..=m {
        let (_, i) = tokens.vertex(n, &format!("edge {k}: its first vertex (1..={n})"))?;
        let (_, j) = tokens.vertex(n, &format!("edge {k}: its second vertex (1..={n})"))?;
        let (_, c) = tokens.number(&format!("edge {k}: its cost"))?;
        edges.push((i, j, c));
    }
    tokens.end(&format!(
        "end of input after the {m} edges the first line announces"
    ))?;
    if n > m + 1 {
        return Err(LayoutError::InvalidInstance(format!(
            "pmed graph is not connected: {n} vertices (line {line_m}) cannot be joined by {m} \
             edges"
        )));
    }

    let mut dist = vec![vec![f64::INFINITY; n]; n];
    for (v, row) in dist.iter_mut().enumerate() {
        row[v] = 0.0;
    }
    for (i, j, c) in edges {
        if i != j {
            dist[i][j] = c;
            dist[j][i] = c;
        }
    }
    floyd_warshall(&mut dist);
    for (a, row) in dist.iter().enumerate() {
        if let Some(b) = row.iter().position(|d| d.is_infinite()) {
            return Err(LayoutError::InvalidInstance(format!(
                "pmed graph is not connected: no path from vertex {} to vertex {}",
                a + 1,
                b + 1
            )));
        }
    }
    let instance = Instance::new(vec![1.0; n], dist, vec![], vec![], vec![], vec![])?;
    Ok(PmedFile { instance, p })
}

/// Parses an OR-Library capacitated warehouse location file (see the [module docs](self)).
///
/// Warehouses become facilities (with `capacity` and `fixed_cost`), customers become clients
/// (with `demand`), both named `"1"`, `"2"`, ... in file order. `capacity_override`, when
/// given, is used as every warehouse's capacity; it is required when the file writes the
/// word `capacity` instead of a number.
pub fn parse_cap(text: &str, capacity_override: Option<f64>) -> Result<Instance, LayoutError> {
    if let Some(u) = capacity_override {
        check_value(|| "capacity_override".to_string(), u)?;
    }
    let mut tokens = Tokens::new(text);
    let (line_m, m) = tokens.count("the number of warehouses m")?;
    let (line_n, n) = tokens.count("the number of customers n")?;
    if m == 0 {
        return Err(parse_error(line_m, "0", "at least one warehouse".into()));
    }
    if n == 0 {
        return Err(parse_error(line_n, "0", "at least one customer".into()));
    }
    let mut capacity = Vec::new();
    let mut fixed_cost = Vec::new();
    for j in 1..=m {
        let what = format!("the capacity of warehouse {j}");
        let (line, token) = tokens.next(&what)?;
        let u = if token.eq_ignore_ascii_case("capacity") {
            capacity_override.ok_or_else(|| {
                parse_error(
                    line,
                    token,
                    format!(
                        "a number for {what}: this file leaves capacities to the user, so \
                         pass a capacity override"
                    ),
                )
            })?
        } else {
            let u = to_number(line, token, &what)?;
            capacity_override.unwrap_or(u)
        };
        capacity.push(u);
        fixed_cost.push(
            tokens
                .number(&format!("the fixed cost of warehouse {j}"))?
                .1,
        );
    }
    let mut demand = Vec::new();
    let mut cost = Vec::new();
    for i in 1..=n {
        demand.push(tokens.number(&format!("the demand of customer {i}"))?.1);
        let mut row = Vec::new();
        for j in 1..=m {
            row.push(
                tokens
                    .number(&format!(
                        "the cost of serving customer {i} from warehouse {j}"
                    ))?
                    .1,
            );
        }
        cost.push(row);
    }
    tokens.end(&format!(
        "end of input after the {n} customers the first line announces"
    ))?;
    Instance::new(demand, cost, fixed_cost, capacity, vec![], vec![])
}

/// All-pairs shortest paths in place; `dist` is square with 0 on the diagonal.
fn floyd_warshall(dist: &mut [Vec<f64>]) {
    for k in 0..dist.len() {
        let via = dist[k].clone();
        for row in dist.iter_mut() {
            let to_k = row[k];
            if to_k.is_infinite() {
                continue;
            }
            for (d, &from_k) in row.iter_mut().zip(&via) {
                let candidate = to_k + from_k;
                if candidate < *d {
                    *d = candidate;
                }
            }
        }
    }
}

fn parse_error(line: usize, found: &str, expected: String) -> LayoutError {
    LayoutError::Parse {
        line,
        found: quote(found),
        expected,
    }
}

/// `'token'`, shortened if the input is garbage with very long tokens.
fn quote(token: &str) -> String {
    const MAX: usize = 40;
    if token.chars().count() > MAX {
        let head: String = token.chars().take(MAX).collect();
        format!("'{head}...'")
    } else {
        format!("'{token}'")
    }
}

/// A finite, non-negative number.
fn to_number(line: usize, token: &str, what: &str) -> Result<f64, LayoutError> {
    match token.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(parse_error(
            line,
            token,
            format!("{what} (a finite non-negative number)"),
        )),
    }
}

/// Whitespace-separated tokens with their 1-based line numbers.
struct Tokens<'a> {
    tokens: std::vec::IntoIter<(usize, &'a str)>,
    last_line: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        let tokens: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .flat_map(|(k, line)| line.split_whitespace().map(move |t| (k + 1, t)))
            .collect();
        Tokens {
            tokens: tokens.into_iter(),
            last_line: text.lines().count().max(1),
        }
    }

    fn next(&mut self, expected: &str) -> Result<(usize, &'a str), LayoutError> {
        self.tokens.next().ok_or_else(|| LayoutError::Parse {
            line: self.last_line,
            found: "end of input".into(),
            expected: expected.to_string(),
        })
    }

    /// A non-negative integer.
    fn count(&mut self, expected: &str) -> Result<(usize, usize), LayoutError> {
        let (line, token) = self.next(expected)?;
        token
            .parse::<usize>()
            .map(|v| (line, v))
            .map_err(|_| parse_error(line, token, format!("{expected} (a whole number)")))
    }

    /// A 1-based vertex number, returned 0-based.
    fn vertex(&mut self, n: usize, expected: &str) -> Result<(usize, usize), LayoutError> {
        let (line, token) = self.next(expected)?;
        match token.parse::<usize>() {
            Ok(v) if (1..=n).contains(&v) => Ok((line, v - 1)),
            _ => Err(parse_error(line, token, expected.to_string())),
        }
    }

    fn number(&mut self, expected: &str) -> Result<(usize, f64), LayoutError> {
        let (line, token) = self.next(expected)?;
        to_number(line, token, expected).map(|v| (line, v))
    }

    fn end(&mut self, expected: &str) -> Result<(), LayoutError> {
        match self.tokens.next() {
            None => Ok(()),
            Some((line, token)) => Err(parse_error(line, token, expected.to_string())),
        }
    }
}
