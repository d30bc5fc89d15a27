//! A client of the Flink SQL Gateway's REST API: scripts split into statements, each run in
//! a session, the jobs they start and the root cause of what Flink refused.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::PipelineError;

/// A client of the Flink SQL Gateway's REST API (v1).
pub struct SqlGateway {
    url: String,
    agent: ureq::Agent,
}

/// What one statement returned.
#[derive(Debug, Clone, Default)]
pub struct StatementOutcome {
    /// The job it started, for INSERT statements and statement sets.
    pub job_id: Option<String>,
    /// Result rows (as JSON arrays of fields).
    pub rows: Vec<Value>,
}

impl SqlGateway {
    /// A client of the gateway at `url` (e.g. `http://127.0.0.1:8083`).
    pub fn new(url: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(180)))
            .http_status_as_error(false)
            .build()
            .into();
        SqlGateway {
            url: url.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), PipelineError> {
        let url = format!("{}{path}", self.url);
        let http = |e: ureq::Error| PipelineError::Http {
            action: format!("{method} {url}"),
            message: e.to_string(),
        };
        let mut response = match (method, body) {
            ("POST", Some(body)) => self.agent.post(&url).send_json(body).map_err(http)?,
            ("POST", None) => self.agent.post(&url).send_empty().map_err(http)?,
            ("DELETE", _) => self.agent.delete(&url).call().map_err(http)?,
            _ => self.agent.get(&url).call().map_err(http)?,
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// Runs every statement of `sql` in one session, in order; returns each outcome.
    pub fn execute_script(
        &self,
        sql: &str,
        session_name: &str,
    ) -> Result<Vec<StatementOutcome>, PipelineError> {
        let (_, session) = self.call(
            "POST",
            "/v1/sessions",
            Some(json!({"sessionName": session_name, "properties": {}})),
        )?;
        let handle = session["sessionHandle"]
            .as_str()
            .ok_or_else(|| PipelineError::Http {
                action: "open a SQL Gateway session".to_owned(),
                message: session.to_string(),
            })?
            .to_owned();
        let outcomes = split_statements(sql)
            .iter()
            .map(|statement| self.execute(&handle, statement))
            .collect();
        let _ = self.call("DELETE", &format!("/v1/sessions/{handle}"), None);
        outcomes
    }

    fn execute(&self, session: &str, statement: &str) -> Result<StatementOutcome, PipelineError> {
        let refused = |value: &Value| PipelineError::Statement {
            statement: statement
                .split_whitespace()
                .take(12)
                .collect::<Vec<_>>()
                .join(" "),
            cause: root_cause(value),
        };
        let (status, submitted) = self.call(
            "POST",
            &format!("/v1/sessions/{session}/statements"),
            Some(json!({"statement": statement})),
        )?;
        if status != 200 {
            return Err(refused(&submitted));
        }
        let operation = submitted["operationHandle"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut outcome = StatementOutcome::default();
        let mut path =
            format!("/v1/sessions/{session}/operations/{operation}/result/0?rowFormat=JSON");
        let started = Instant::now();
        loop {
            let (status, page) = self.call("GET", &path, None)?;
            if status != 200 {
                return Err(refused(&page));
            }
            if let Some(job) = page["jobID"].as_str() {
                outcome.job_id = Some(job.to_owned());
            }
            let kind = page["resultType"].as_str().unwrap_or_default();
            if kind == "PAYLOAD" {
                if let Some(rows) = page["results"]["data"].as_array() {
                    outcome
                        .rows
                        .extend(rows.iter().map(|row| row["fields"].clone()));
                }
            }
            let next = page["nextResultUri"].as_str();
            match (kind, next) {
                ("EOS", _) | (_, None) => return Ok(outcome),
                ("NOT_READY", Some(_)) if started.elapsed() > Duration::from_secs(300) => {
                    return Err(PipelineError::Http {
                        action: "wait for a statement".to_owned(),
                        message: "no result within 300 s".to_owned(),
                    })
                }
                ("NOT_READY", Some(next)) => {
                    std::thread::sleep(Duration::from_millis(200));
                    path = next.to_owned();
                }
                (_, Some(next)) => path = next.to_owned(),
            }
        }
    }
}

/// The last "Caused by" of a gateway error, which names the real problem.
fn root_cause(value: &Value) -> String {
    let text = value["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_else(|| value.to_string());
    text.lines()
        .rfind(|line| line.starts_with("Caused by:"))
        .or_else(|| text.lines().next())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Splits a SQL script into statements at `;` line ends, keeping `EXECUTE STATEMENT SET
/// BEGIN … END;` whole and dropping `--` comment lines.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut in_set = false;
    for line in sql.lines().filter(|l| !l.trim_start().starts_with("--")) {
        if line.trim().is_empty() && current.is_empty() {
            continue;
        }
        current.push(line);
        let head = current
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        if head.starts_with("EXECUTE STATEMENT SET") || head.starts_with("BEGIN STATEMENT SET") {
            in_set = true;
        }
        let trimmed = line.trim_end();
        if trimmed.ends_with(';') {
            let ends_set = trimmed
                .trim_end_matches(';')
                .trim_end()
                .to_uppercase()
                .ends_with("END");
            if in_set && !ends_set {
                continue;
            }
            let statement = current
                .join("\n")
                .trim()
                .trim_end_matches(';')
                .trim()
                .to_owned();
            if !statement.is_empty() {
                statements.push(statement);
            }
            current.clear();
            in_set = false;
        }
    }
    let rest = current
        .join("\n")
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_owned();
    if !rest.is_empty() {
        statements.push(rest);
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_cause_is_the_last_caused_by() {
        let error =
            json!({"errors": ["Internal error\nCaused by: A\nCaused by: B is wrong\n\tat x"]});
        assert_eq!(root_cause(&error), "Caused by: B is wrong");
    }
}
