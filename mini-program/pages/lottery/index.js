// A draw. The Idempotency-Key is kept until an answer arrives: a retry after a network error is the same draw.
const { request, newIdempotencyKey } = require('../../utils/request')

Component({
  data: { name: '', prize: null, error: '', drawing: false },
  methods: {
    async onLoad(query) {
      this.slug = query.slug
      this.pool = query.pool
      this.pendingKey = ''
      try {
        const odds = await request({ path: `/api/v1/campaigns/${this.slug}/lottery/${this.pool}/odds`, auth: false })
        this.setData({ name: odds.name })
      } catch (error) {
        this.setData({ error: error.message })
      }
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
          prize: { name: prize.name, won: prize.kind !== 'thanks', guaranteed: result.guaranteed },
          drawing: false,
        })
      } catch (error) {
        // Only an answer ends the draw: after a network error the next tap retries it with the same key.
        if (error.code !== 'network') this.pendingKey = ''
        this.setData({ error: error.message, drawing: false })
      }
    },
  },
})
