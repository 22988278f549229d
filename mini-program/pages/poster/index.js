// Making a poster of a poster activity (a wish card): the text is checked by WeChat, the card drawn by the
// backend. Making it may pay the activity's reward once a day; sharing it never does (WeChat's rules).
const { request, newIdempotencyKey } = require('../../utils/request')
const config = require('../../config')

function rewardText(reward) {
  if (!reward) return ''
  const parts = []
  if (reward.points) parts.push(`${reward.points}积分`)
  if (reward.chances) parts.push(`${reward.chances}次抽奖机会`)
  if (reward.coupon) parts.push('一张优惠券')
  return parts.join(' + ')
}

Component({
  data: { text: '', poster: null, error: '', notice: '', busy: false },
  methods: {
    onLoad(query) {
      this.slug = query.slug
      this.activity = query.activity
    },
    onInput(event) {
      this.setData({ text: event.detail.value })
    },
    async make() {
      if (this.data.busy) return
      // One key per card until an answer comes: a retry after a lost answer is the same card.
      this.makeKey = this.makeKey || newIdempotencyKey()
      this.setData({ busy: true, error: '', notice: '' })
      try {
        const poster = await request({
          path: `/api/v1/campaigns/${this.slug}/posters/${this.activity}`,
          method: 'POST',
          data: { text: this.data.text },
          idempotencyKey: this.makeKey,
        })
        this.makeKey = null
        this.code = poster.code
        const reward = rewardText(poster.reward)
        this.setData({
          poster: { code: poster.code, image: config.baseUrl + poster.image_url, text: poster.text },
          notice: reward ? `海报已生成，获得${reward}` : '海报已生成',
        })
      } catch (error) {
        if (error.status > 0) this.makeKey = null
        this.setData({ error: error.message })
      }
      this.setData({ busy: false })
    },
    onShareAppMessage() {
      return { title: '看看我的心愿卡', path: `/pages/poster/index?slug=${this.slug}&activity=${this.activity}` }
    },
  },
})
