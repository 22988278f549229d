//! What WeChat's callbacks tell pushes: template job reports (TEMPLATESENDJOBFINISH, one a message, so a
//! 30,000-customer push brings 30,000 of them in minutes: each is one indexed update on the callback's batch
//! transaction), mass job reports (MASSSENDJOBFINISH) and subscribe consents (`subscribe_msg_*`).

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::deliver::record_report;
use super::limits;
use crate::entities::pushes;
use crate::official_account::dispatch::{Handling, InboundHandler};
use crate::users;
use crate::wechat::message::{Event, Inbound, InboundKind};

pub struct PushReports;

#[async_trait]
impl InboundHandler for PushReports {
    async fn handle(&self, cx: &mut Handling<'_>, inbound: &Inbound) -> anyhow::Result<()> {
        let InboundKind::Event(event) = &inbound.kind else {
            return Ok(());
        };
        match event {
            Event::TemplateSendJobFinish { msg_id, status } => {
                record_report(cx.txn, msg_id, status, cx.now).await?;
            }
            Event::MassSendJobFinish {
                msg_id,
                status,
                total_count,
                sent_count,
                error_count,
            } => {
                let result = json!({ "status": status, "total": total_count, "sent": sent_count, "errors": error_count });
                pushes::Entity::update_many()
                    .col_expr(pushes::Column::MassResult, Expr::value(result))
                    .filter(pushes::Column::MassMsgId.eq(msg_id.as_str()))
                    .exec(cx.txn)
                    .await?;
            }
            Event::SubscribeMsgPopup { items } | Event::SubscribeMsgChange { items } => {
                let Some(user_id) =
                    users::service::by_oa_openid(cx.txn, &inbound.from_user).await?
                else {
                    return Ok(());
                };
                for item in items {
                    let template_id = item.template_id.as_str();
                    if template_id.is_empty() || template_id.len() > 64 {
                        continue;
                    }
                    // A "reject" refuses this one request, as in the mini-program: what was allowed before stays.
                    if item.status == "accept" {
                        limits::add_consent(cx.txn, user_id, template_id, cx.now).await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
