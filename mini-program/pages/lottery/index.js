// A draw, with the chances left. The Idempotency-Key is kept until an answer arrives: a retry after a network
// error is the same draw.
const { request, newIdempotencyKey } = require('../../utils/request')

Component({
  data: { name: '', chances: null, prize: null, error: '', drawing: false },
  methods: {
    async onLoad(query) {
      this.slug = query.slug
      this.pool = query.pool
      this.pendingKey = ''
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
      this.setData({ chances: chances.left })
    },
    async draw() {
      if (this.data.drawing) return
      if (!this.pendingKey) this.pendingKey = newIdempotencyKey()
      this.setData({ drawing: true, error: '' })
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
        // Only an answer ends the draw: after a network error the next tap retries it with the same key.
        if (error.code !== 'network') this.pendingKey = ''
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
