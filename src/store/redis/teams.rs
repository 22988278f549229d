use super::*;

impl RedisStore {
    async fn forget_team(
        &self,
        campaign: &str,
        activity_id: i64,
        team_id: i64,
        members: &[i64],
    ) -> Result<(), StoreError> {
        let mut invocation = self.scripts.forget_team.prepare_invoke();
        invocation.key(self.keys.team(campaign, team_id));
        for &user in members {
            invocation.key(self.keys.team_member(campaign, activity_id, user));
        }
        let _: i64 = invocation
            .arg(team_id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl TeamStore for RedisStore {
    async fn hydrate_team(&self, seats: &TeamSeats) -> Result<(), StoreError> {
        let mut invocation = self.scripts.hydrate_team.prepare_invoke();
        invocation
            .key(self.keys.team(&seats.campaign, seats.team_id))
            .arg(seats.team_id)
            .arg(seats.size)
            .arg(seats.leader_id)
            .arg(seats.expires_at_ms)
            .arg(millis(seats.keep_for));
        for &(seat, user) in &seats.seats {
            invocation
                .key(
                    self.keys
                        .team_member(&seats.campaign, seats.activity_id, user),
                )
                .arg(seat)
                .arg(user);
        }
        let _: i64 = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn join_team(&self, spec: &JoinSpec) -> Result<JoinOutcome, StoreError> {
        let (code, seat, full): (i64, i64, i64) = self
            .scripts
            .join_team
            .key(self.keys.team(&spec.campaign, spec.team_id))
            .key(
                self.keys
                    .team_member(&spec.campaign, spec.activity_id, spec.user_id),
            )
            .key(self.keys.paused(&spec.campaign))
            .arg(spec.team_id)
            .arg(spec.user_id)
            .arg(spec.now_ms)
            .arg(millis(spec.keep_for))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        JoinOutcome::decode(code, seat, full == 1)
            .ok_or_else(|| StoreError::Protocol(format!("join_team answered {code}")))
    }

    async fn undo_join(&self, spec: &JoinSpec) -> Result<(), StoreError> {
        self.forget_team(
            &spec.campaign,
            spec.activity_id,
            spec.team_id,
            &[spec.user_id],
        )
        .await
    }

    async fn close_team(
        &self,
        campaign: &str,
        activity_id: i64,
        team_id: i64,
        members: &[i64],
    ) -> Result<(), StoreError> {
        self.forget_team(campaign, activity_id, team_id, members)
            .await
    }
}
