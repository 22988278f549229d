// The one place the backend's address is set. Point it at your backend before opening the project in
// WeChat DevTools (the mini-program's request domain list must name it in production).
module.exports = {
  baseUrl: 'http://127.0.0.1:8080',
  // The account's subscribe-message templates customers are asked to allow (at most three at once, WeChat's
  // limit), with what each reminds of. Replace the demo ids with the account's own.
  subscribeTemplates: [
    { id: 'DEMO_PLAN_DAY', name: '新人计划每日提醒' },
    { id: 'DEMO_COUPON_EXPIRING', name: '优惠券到期提醒' },
    { id: 'DEMO_CAMPAIGN_NOTICE', name: '活动开始提醒' },
  ],
}
