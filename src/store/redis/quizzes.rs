use super::*;

#[async_trait]
impl QuizStore for RedisStore {
    async fn start_quiz(&self, attempt: &NewAttempt) -> Result<(), StoreError> {
        let key = self
            .keys
            .quiz_attempt(&attempt.campaign, &attempt.attempt_id);
        let mut fields: Vec<(String, String)> = vec![
            ("user".into(), attempt.user_id.to_string()),
            ("n".into(), attempt.questions.len().to_string()),
            ("cur".into(), "1".into()),
            ("shown".into(), attempt.started_at_ms.to_string()),
            ("exp".into(), attempt.expires_at_ms.to_string()),
            ("late".into(), attempt.late_after_ms.to_string()),
            ("fast".into(), attempt.too_fast_ms.to_string()),
        ];
        for (i, q) in attempt.questions.iter().enumerate() {
            let n = i + 1;
            let kind = if q.multiple { 'm' } else { 's' };
            fields.push((format!("q{n}"), q.public.clone()));
            fields.push((format!("v{n}"), format!("{kind}:{}", q.labels)));
            fields.push((format!("k{n}"), q.correct.clone()));
            fields.push((format!("e{n}"), q.explanation.clone()));
        }
        redis::pipe()
            .atomic()
            .del(&key)
            .hset_multiple(&key, &fields)
            .pexpire(&key, millis(attempt.ttl) as i64)
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn answer_quiz(&self, spec: &AnswerSpec) -> Result<AnswerOutcome, StoreError> {
        let reply: Vec<String> = self
            .scripts
            .quiz_answer
            .key(self.keys.paused(&spec.campaign))
            .key(self.keys.quiz_attempt(&spec.campaign, &spec.attempt_id))
            .arg(spec.user_id)
            .arg(spec.number)
            .arg(&spec.chosen)
            .arg(spec.now_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let records = |from: usize| -> Result<Vec<AnswerRecord>, StoreError> {
            reply[from.min(reply.len())..]
                .iter()
                .map(|r| {
                    AnswerRecord::decode(r).ok_or_else(|| {
                        StoreError::Protocol("quiz_answer: unreadable record".into())
                    })
                })
                .collect()
        };
        let field = |i: usize| {
            reply
                .get(i)
                .cloned()
                .ok_or_else(|| StoreError::Protocol("quiz_answer: short reply".into()))
        };
        match reply.first().map(String::as_str) {
            Some("paused") => Ok(AnswerOutcome::Paused),
            Some("none") => Ok(AnswerOutcome::NotFound),
            Some("expired") => Ok(AnswerOutcome::Expired),
            Some("invalid") => Ok(AnswerOutcome::InvalidOption),
            Some("not_current") => Ok(AnswerOutcome::NotCurrent {
                current: field(1)?.parse().unwrap_or(0),
            }),
            Some("finished") => Ok(AnswerOutcome::Finished(records(1)?)),
            Some("answered") => {
                let record = AnswerRecord::decode(&field(1)?)
                    .ok_or_else(|| StoreError::Protocol("quiz_answer: unreadable record".into()))?;
                let next = field(4)?;
                let finished = if next.is_empty() {
                    Some(records(5)?)
                } else {
                    None
                };
                Ok(AnswerOutcome::Answered(Box::new(Answered {
                    record,
                    correct: field(2)?,
                    explanation: field(3)?,
                    next: (!next.is_empty()).then_some(next),
                    finished,
                })))
            }
            _ => Err(StoreError::Protocol("quiz_answer: unknown reply".into())),
        }
    }

    async fn quiz_attempt(
        &self,
        campaign: &str,
        attempt_id: &str,
        user_id: i64,
    ) -> Result<Option<AttemptView>, StoreError> {
        let reply: Vec<String> = self
            .scripts
            .quiz_view
            .key(self.keys.quiz_attempt(campaign, attempt_id))
            .arg(user_id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        if reply.is_empty() {
            return Ok(None);
        }
        let bad = || StoreError::Protocol("quiz_view: unreadable reply".into());
        let number = |i: usize| {
            reply
                .get(i)
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(bad)
        };
        let answers = reply[4.min(reply.len())..]
            .iter()
            .map(|r| AnswerRecord::decode(r).ok_or_else(bad))
            .collect::<Result<_, _>>()?;
        Ok(Some(AttemptView {
            current: number(0)? as u32,
            count: number(1)? as u32,
            shown_at_ms: number(2)?,
            current_public: reply.get(3).filter(|q| !q.is_empty()).cloned(),
            answers,
        }))
    }

    async fn board_submit(
        &self,
        campaign: &str,
        entries: &[BoardEntry],
        complete: bool,
    ) -> Result<(), StoreError> {
        let batches: Vec<&[BoardEntry]> = if entries.is_empty() {
            vec![&[]]
        } else {
            entries.chunks(500).collect()
        };
        let last = batches.len() - 1;
        for (i, batch) in batches.into_iter().enumerate() {
            let mut invocation = self.scripts.board_submit.prepare_invoke();
            invocation
                .key(self.keys.board(campaign))
                .key(self.keys.board_complete(campaign))
                .arg(if complete && i == last { "1" } else { "0" });
            for entry in batch {
                invocation.arg(entry.user_id).arg(entry.value);
            }
            let _: i64 = invocation
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn board_page(
        &self,
        campaign: &str,
        top: u32,
        user_id: i64,
    ) -> Result<BoardPage, StoreError> {
        let reply: Vec<String> = self
            .scripts
            .board_page
            .key(self.keys.board(campaign))
            .key(self.keys.board_complete(campaign))
            .arg(top.max(1))
            .arg(user_id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let bad = || StoreError::Protocol("board_page: unreadable reply".into());
        // Sorted-set scores come back as doubles; every value we store is an exact integer.
        let value = |text: &str| {
            text.parse::<f64>()
                .map(|v| v.round() as i64)
                .map_err(|_| bad())
        };
        if reply.len() < 3 {
            return Err(bad());
        }
        let mine = match reply[1].parse::<u64>() {
            Ok(rank) => Some((rank + 1, value(&reply[2])?)),
            Err(_) => None,
        };
        let top = reply[3..]
            .chunks(2)
            .map(|pair| match pair {
                [member, score] => Ok(BoardEntry {
                    user_id: member.parse().map_err(|_| bad())?,
                    value: value(score)?,
                }),
                _ => Err(bad()),
            })
            .collect::<Result<_, _>>()?;
        Ok(BoardPage {
            built: reply[0] == "1",
            top,
            mine,
        })
    }
}
