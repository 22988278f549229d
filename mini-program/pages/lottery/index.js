// A draw, with the chances left. The Idempotency-Key is kept until an answer arrives: a retry after a network
// error is the same draw.
const { request, newIdempotencyKey } = require('../../utils/request')

// No answer came (a network error), or the backend asked for a retry (503): the action may have happened.
function retriable(error) {
  return error.code === 'network' || error.status === 503
}

Component({
  data: { name: '', chances: null, costPoints: 0, prize: null, error: '', notice: '', drawing: false, buying: false },
  methods: {
    async onLoad(query) {
      this.slug = query.slug
      this.pool = query.pool
      this.pendingKey = ''
      this.pendingBuyKey = ''
      try {
        const odds = await request({ path: `/api/v1/campaigns/${this.slug}/lottery/${this.pool}/odds`, auth: false })
        this.setData({ name: odds.name })
        await this.loadChances()
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    async loadChances() {
      const chances = await request({ path: `/api/v1/campaigns/${this.slug}/lottery/${this.pool}/chances` })
      this.setData({ chances: chances.left, costPoints: chances.cost_points || 0 })
    },
    // One more chance for points (pools that sell them); its key, too, is kept until an answer arrives.
    async buyChance() {
      if (this.data.buying) return
      if (!this.pendingBuyKey) this.pendingBuyKey = newIdempotencyKey()
      this.setData({ buying: true, error: '', notice: '' })
      try {
        await request({
          path: `/api/v1/campaigns/${this.slug}/lottery/${this.pool}/chances`,
          method: 'POST',
          data: { count: 1 },
          idempotencyKey: this.pendingBuyKey,
        })
        this.pendingBuyKey = ''
        this.setData({ notice: `已用${this.data.costPoints}积分兑换1次抽奖机会` })
        await this.loadChances()
      } catch (error) {
        if (!retriable(error)) this.pendingBuyKey = ''
        this.setData({ error: error.message })
      } finally {
        this.setData({ buying: false })
      }
    },
    async draw() {
      if (this.data.drawing) return
      if (!this.pendingKey) this.pendingKey = newIdempotencyKey()
      this.setData({ drawing: true, error: '', notice: '' })
      try {
        const result = await request({
          path: `/api/v1/campaigns/${this.slug}/lottery/${this.pool}/draws`,
          method: 'POST',
          idempotencyKey: this.pendingKey,
        })
        this.pendingKey = ''
        const prize = result.prize
        this.setData({
          prize: {
            name: prize.name,
            won: prize.kind !== 'thanks',
            physical: prize.kind === 'physical',
            guaranteed: result.guaranteed,
          },
          drawing: false,
        })
      } catch (error) {
        // Only an answer ends the draw: after a network error or a 503 ("try again") the next tap retries it
        // with the same key, so a draw the backend did record is answered, not drawn again.
        if (!retriable(error)) this.pendingKey = ''
        this.setData({ error: error.message, drawing: false })
      }
      try {
        await this.loadChances()
      } catch (_) {
        // The count stays as it was; the draw's own answer is on the page.
      }
    },
    openPrizes() {
      wx.navigateTo({ url: '/pages/prizes/index' })
    },
  },
})
