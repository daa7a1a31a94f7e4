//! Lists on console pages: a search box and "next page" links over a store listing
//! that pages by key (`list_clients_page`, `list_users_page`, …).

use super::{escape, query_value};
use crate::http::error::PageError;
use baton_core::error::StoreError;
use std::future::Future;

/// How many items a console list shows at once.
pub const PAGE_SIZE: usize = 50;

/// How many items one request reads from the store at most while searching, so that
/// a search matching little in a long list answers a shorter page (with a link to
/// continue) instead of reading the whole list.
pub const SCAN_LIMIT: usize = 5_000;

/// A list's query string: `q` (a search, case-insensitive substring) and `after` (the
/// key the previous page ended with). Anything else is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub q: String,
    pub after: Option<String>,
}

impl Query {
    /// Reads the query string; `extra` names further parameters the page takes
    /// itself (read them from the returned form).
    pub fn parse(
        raw: Option<&str>,
        extra: &[&str],
    ) -> Result<(Query, crate::http::form::Form), PageError> {
        let f = crate::http::form::parse(raw.unwrap_or_default().as_bytes())
            .map_err(|e| PageError::BadRequest(e.description.into()))?;
        let q = Query {
            q: f.get("q").unwrap_or_default().trim().to_string(),
            after: f.get("after").filter(|a| !a.is_empty()).map(str::to_string),
        };
        if q.q.len() > 256 || q.after.as_ref().is_some_and(|a| a.len() > 1024) {
            return Err(PageError::BadRequest("The search is too long.".into()));
        }
        if let Some(k) = f
            .names()
            .find(|k| !["q", "after"].contains(k) && !extra.contains(k))
        {
            return Err(PageError::BadRequest(
                format!(
                    "The address has a parameter this page does not know: `{}`.",
                    k.chars().take(64).collect::<String>()
                )
                .into(),
            ));
        }
        Ok((q, f))
    }

    /// Whether `text` matches the search (every item matches an empty one).
    pub fn matches(&self, texts: &[&str]) -> bool {
        if self.q.is_empty() {
            return true;
        }
        let needle = self.q.to_lowercase();
        texts.iter().any(|t| t.to_lowercase().contains(&needle))
    }
}

/// One page of a list: its items and, when more follow, the key to continue after.
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Up to `size` items that `keep`, in the listing's order, starting after `after`:
/// reads the listing (`fetch(after, n)`: at most `n` items with a key after `after`)
/// page by page. Reads at most [`SCAN_LIMIT`] items; if it stops there, the page is
/// shorter and `next` continues from where it stopped.
pub async fn scan<T, F, Fut>(
    mut fetch: F,
    key: impl Fn(&T) -> String,
    keep: impl Fn(&T) -> bool,
    after: Option<String>,
    size: usize,
) -> Result<Paged<T>, StoreError>
where
    F: FnMut(Option<String>, usize) -> Fut,
    Fut: Future<Output = Result<Vec<T>, StoreError>>,
{
    let batch = (size + 1).max(200);
    let mut items = Vec::new();
    let mut cursor = after;
    let mut read = 0;
    loop {
        let got = fetch(cursor.clone(), batch).await?;
        let done = got.len() < batch;
        read += got.len();
        for it in got {
            let k = key(&it);
            if keep(&it) {
                if items.len() == size {
                    // One more match exists: the page ends at its predecessor.
                    return Ok(Paged {
                        next: items.last().map(&key),
                        items,
                    });
                }
                items.push(it);
            }
            cursor = Some(k);
        }
        if done {
            return Ok(Paged { items, next: None });
        }
        if read >= SCAN_LIMIT {
            return Ok(Paged {
                items,
                next: cursor,
            });
        }
    }
}

/// The search form of a list page (`GET` to `action`), labelled `what`.
pub fn search_form(action: &str, what: &str, q: &Query) -> String {
    format!(
        "<form method=\"get\" action=\"{action}\" class=\"search\" role=\"search\">\
         <div><label for=\"q\">Search {what}</label>\
         <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"></div>\
         <button type=\"submit\" class=\"secondary\">Search</button></form>",
        escape(&q.q)
    )
}

/// The "next page" link of a list page (nothing when `next` is `None`), keeping the
/// search and any `extra` parameters (`name=value` pairs, already the page's own).
pub fn pager(action: &str, q: &Query, next: Option<&str>, extra: &[(&str, &str)]) -> String {
    let Some(next) = next else {
        return String::new();
    };
    let mut href = format!("{action}?after={}", query_value(next));
    if !q.q.is_empty() {
        href.push_str(&format!("&q={}", query_value(&q.q)));
    }
    for (k, v) in extra {
        href.push_str(&format!("&{k}={}", query_value(v)));
    }
    format!(
        "<nav aria-label=\"Pages\"><p><a href=\"{}\">Next page</a></p></nav>",
        escape(&href)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i:06}")).collect()
    }

    async fn fetch_from(
        all: &[String],
        after: Option<String>,
        n: usize,
    ) -> Result<Vec<String>, StoreError> {
        Ok(all
            .iter()
            .filter(|k| after.as_ref().is_none_or(|a| *k > a))
            .take(n)
            .cloned()
            .collect())
    }

    #[tokio::test]
    async fn scan_walks_every_match_once_in_order() {
        let all = listing(1_000);
        let keep = |k: &String| k.ends_with('7');
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let p = scan(
                |a, n| fetch_from(&all, a, n),
                String::clone,
                keep,
                after,
                30,
            )
            .await
            .unwrap();
            assert!(p.items.len() <= 30);
            seen.extend(p.items);
            match p.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let want: Vec<String> = all.iter().filter(|k| keep(k)).cloned().collect();
        assert_eq!(seen, want);
    }

    #[tokio::test]
    async fn scan_stops_at_its_limit_and_continues() {
        let all = listing(SCAN_LIMIT * 2 + 10);
        let last = all.last().cloned().unwrap();
        let keep = |k: &String| *k == last;
        let p = scan(|a, n| fetch_from(&all, a, n), String::clone, keep, None, 10)
            .await
            .unwrap();
        assert!(p.items.is_empty());
        let next = p.next.expect("a link to continue");
        let mut after = Some(next);
        let mut found = Vec::new();
        while let Some(a) = after {
            let p = scan(
                |a, n| fetch_from(&all, a, n),
                String::clone,
                keep,
                Some(a),
                10,
            )
            .await
            .unwrap();
            found.extend(p.items);
            after = p.next;
        }
        assert_eq!(found, vec![last]);
    }

    #[test]
    fn search_is_case_insensitive_substring() {
        let q = Query {
            q: "Web".into(),
            after: None,
        };
        assert!(q.matches(&["my-web-app"]));
        assert!(q.matches(&["x", "The WEB client"]));
        assert!(!q.matches(&["spa"]));
        assert!(Query::default().matches(&["anything"]));
    }

    #[test]
    fn unknown_parameters_are_refused() {
        assert!(Query::parse(Some("q=a&after=b"), &[]).is_ok());
        assert!(Query::parse(Some("q=a&kind=x"), &["kind"]).is_ok());
        assert!(Query::parse(Some("q=a&nope=1"), &[]).is_err());
        assert!(Query::parse(Some("q=a&q=b"), &[]).is_err());
    }
}
