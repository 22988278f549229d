use super::*;

#[async_trait]
impl TeamStore for MemoryStore {
    async fn hydrate_team(&self, seats: &TeamSeats) -> Result<(), StoreError> {
        let team_key = self.keys.team(&seats.campaign, seats.team_id);
        let ttl = seats.keep_for;
        self.with(|inner, now| {
            for &(_, user) in &seats.seats {
                let mark = self
                    .keys
                    .team_member(&seats.campaign, seats.activity_id, user);
                inner.put(mark, Value::Count(seats.team_id), Some(ttl), now);
            }
            inner.put(
                team_key,
                Value::Team(Box::new(seats.clone())),
                Some(ttl),
                now,
            );
        });
        Ok(())
    }

    async fn join_team(&self, spec: &JoinSpec) -> Result<JoinOutcome, StoreError> {
        let team_key = self.keys.team(&spec.campaign, spec.team_id);
        let mark = self
            .keys
            .team_member(&spec.campaign, spec.activity_id, spec.user_id);
        let paused = self.keys.paused(&spec.campaign);
        let mark_ttl = spec.keep_for;
        Ok(self.with(|inner, now| {
            if inner.live(&paused, now).is_some() {
                return JoinOutcome::Paused;
            }
            let seated_in = match inner.live(&mark, now).map(|e| &e.value) {
                Some(Value::Count(team)) => Some(*team),
                _ => None,
            };
            let Some(Entry {
                value: Value::Team(team),
                ..
            }) = inner.live(&team_key, now)
            else {
                return JoinOutcome::NotHydrated;
            };
            let outcome = decide_join(team, seated_in, spec.user_id, spec.now_ms);
            if let JoinOutcome::Joined { seat, .. } = outcome {
                team.seats.push((seat, spec.user_id));
                inner.put(mark, Value::Count(spec.team_id), Some(mark_ttl), now);
            }
            outcome
        }))
    }

    async fn undo_join(&self, spec: &JoinSpec) -> Result<(), StoreError> {
        let team_key = self.keys.team(&spec.campaign, spec.team_id);
        let mark = self
            .keys
            .team_member(&spec.campaign, spec.activity_id, spec.user_id);
        self.with(|inner, now| {
            if matches!(inner.live(&mark, now).map(|e| &e.value), Some(Value::Count(team)) if *team == spec.team_id)
            {
                inner.entries.remove(&mark);
            }
            inner.entries.remove(&team_key);
        });
        Ok(())
    }

    async fn close_team(
        &self,
        campaign: &str,
        activity_id: i64,
        team_id: i64,
        members: &[i64],
    ) -> Result<(), StoreError> {
        let team_key = self.keys.team(campaign, team_id);
        self.with(|inner, now| {
            for &user in members {
                let mark = self.keys.team_member(campaign, activity_id, user);
                if matches!(inner.live(&mark, now).map(|e| &e.value), Some(Value::Count(team)) if *team == team_id)
                {
                    inner.entries.remove(&mark);
                }
            }
            inner.entries.remove(&team_key);
        });
        Ok(())
    }
}
