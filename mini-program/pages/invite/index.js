// Inviting friends: the customer's invite code, the path to share, and the open activity's milestone. A friend
// counts once they become a customer (a first login through the share, or a first follow by the QR code), never
// for the share itself.
const { request } = require('../../utils/request')

function rewardText(reward) {
  const parts = []
  if (reward.points) parts.push(`${reward.points}积分`)
  if (reward.chances) parts.push(`${reward.chances}次开盒机会`)
  if (reward.coupon) parts.push('一张优惠券')
  return parts.join(' + ')
}

Component({
  data: { invite: null, error: '' },
  methods: {
    onLoad() {
      return this.load()
    },
    onPullDownRefresh() {
      return this.load()
    },
    async load() {
      this.setData({ error: '' })
      try {
        const progress = await request({ path: '/api/v1/me/referrals' })
        this.sharePath = progress.share_path
        const activity = progress.activity
        this.setData({
          invite: {
            code: progress.code,
            total: progress.credited_total,
            activity: activity && {
              name: activity.name,
              progress: `已邀请 ${Math.min(activity.credited, activity.invites_required)}/${activity.invites_required} 位好友`,
              reached: activity.reached,
              reward: rewardText(activity.reward),
            },
          },
        })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    onShareAppMessage() {
      return { title: '一起来参加财富嘉年华', path: this.sharePath || '/pages/home/index' }
    },
  },
})
