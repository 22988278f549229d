use super::*;

#[async_trait]
impl QuizStore for MemoryStore {
    async fn start_quiz(&self, attempt: &NewAttempt) -> Result<(), StoreError> {
        let key = self
            .keys
            .quiz_attempt(&attempt.campaign, &attempt.attempt_id);
        let value = Value::Attempt(Box::new(Attempt {
            user_id: attempt.user_id,
            questions: attempt.questions.clone(),
            current: 1,
            shown_at_ms: attempt.started_at_ms,
            expires_at_ms: attempt.expires_at_ms,
            late_after_ms: attempt.late_after_ms,
            too_fast_ms: attempt.too_fast_ms,
            answers: Vec::new(),
        }));
        self.with(|inner, now| inner.put(key, value, Some(attempt.ttl), now));
        Ok(())
    }

    async fn answer_quiz(&self, spec: &AnswerSpec) -> Result<AnswerOutcome, StoreError> {
        let paused = self.keys.paused(&spec.campaign);
        let key = self.keys.quiz_attempt(&spec.campaign, &spec.attempt_id);
        Ok(self.with(|inner, now| {
            if inner.live(&paused, now).is_some() {
                return AnswerOutcome::Paused;
            }
            let Some(Entry {
                value: Value::Attempt(attempt),
                ..
            }) = inner.live(&key, now)
            else {
                return AnswerOutcome::NotFound;
            };
            if attempt.user_id != spec.user_id {
                return AnswerOutcome::NotFound;
            }
            let count = attempt.questions.len() as u32;
            if attempt.current > count {
                return AnswerOutcome::Finished(attempt.answers.clone());
            }
            if spec.now_ms > attempt.expires_at_ms {
                return AnswerOutcome::Expired;
            }
            if spec.number != attempt.current {
                return AnswerOutcome::NotCurrent {
                    current: attempt.current,
                };
            }
            let question = &attempt.questions[attempt.current as usize - 1];
            if !quiz::valid_choice(&question.labels, question.multiple, &spec.chosen) {
                return AnswerOutcome::InvalidOption;
            }
            let record = quiz::judge(
                &question.correct,
                &spec.chosen,
                spec.now_ms - attempt.shown_at_ms,
                attempt.late_after_ms,
                attempt.too_fast_ms,
            );
            let (correct, explanation) = (question.correct.clone(), question.explanation.clone());
            attempt.answers.push(record.clone());
            attempt.current += 1;
            attempt.shown_at_ms = spec.now_ms;
            let next = attempt
                .questions
                .get(attempt.current as usize - 1)
                .map(|q| q.public.clone());
            let finished = next.is_none().then(|| attempt.answers.clone());
            AnswerOutcome::Answered(Box::new(Answered {
                record,
                correct,
                explanation,
                next,
                finished,
            }))
        }))
    }

    async fn quiz_attempt(
        &self,
        campaign: &str,
        attempt_id: &str,
        user_id: i64,
    ) -> Result<Option<AttemptView>, StoreError> {
        let key = self.keys.quiz_attempt(campaign, attempt_id);
        Ok(self.with(|inner, now| match inner.live(&key, now) {
            Some(Entry {
                value: Value::Attempt(attempt),
                ..
            }) if attempt.user_id == user_id => Some(AttemptView {
                current: attempt.current,
                count: attempt.questions.len() as u32,
                current_public: attempt
                    .questions
                    .get(attempt.current as usize - 1)
                    .map(|q| q.public.clone()),
                shown_at_ms: attempt.shown_at_ms,
                answers: attempt.answers.clone(),
            }),
            _ => None,
        }))
    }

    async fn board_submit(
        &self,
        campaign: &str,
        entries: &[BoardEntry],
        complete: bool,
    ) -> Result<(), StoreError> {
        let (key, marker) = (
            self.keys.board(campaign),
            self.keys.board_complete(campaign),
        );
        self.with(|inner, now| {
            if !matches!(
                inner.live(&key, now),
                Some(Entry {
                    value: Value::Board(_),
                    ..
                })
            ) {
                inner.put(key.clone(), Value::Board(Box::default()), None, now);
            }
            if let Some(Entry {
                value: Value::Board(board),
                ..
            }) = inner.live(&key, now)
            {
                for entry in entries {
                    let old = board.values.get(&entry.user_id).copied();
                    if old.is_some_and(|old| old >= entry.value) {
                        continue;
                    }
                    if let Some(old) = old {
                        board.order.remove(&(Reverse(old), entry.user_id));
                    }
                    board.values.insert(entry.user_id, entry.value);
                    board.order.insert((Reverse(entry.value), entry.user_id));
                }
            }
            if complete {
                inner.put(marker, Value::Flag, None, now);
            }
        });
        Ok(())
    }

    async fn board_page(
        &self,
        campaign: &str,
        top: u32,
        user_id: i64,
    ) -> Result<BoardPage, StoreError> {
        let (key, marker) = (
            self.keys.board(campaign),
            self.keys.board_complete(campaign),
        );
        Ok(self.with(|inner, now| {
            let built = inner.live(&marker, now).is_some();
            let Some(Entry {
                value: Value::Board(board),
                ..
            }) = inner.live(&key, now)
            else {
                return BoardPage {
                    built,
                    top: Vec::new(),
                    mine: None,
                };
            };
            let entry =
                |&(Reverse(value), user_id): &(Reverse<i64>, i64)| BoardEntry { user_id, value };
            let mine = board.values.get(&user_id).map(|&value| {
                let rank = board.order.range(..(Reverse(value), user_id)).count() as u64 + 1;
                (rank, value)
            });
            BoardPage {
                built,
                top: board.order.iter().take(top as usize).map(entry).collect(),
                mine,
            }
        }))
    }
}
