// The education-fund calculator: the maths is the backend's (POST .../education-fund); this page reads the form
// and shows the plan. Path: /h5/calculator/{campaign}/{activity}.
'use strict'
;(() => {
  const [, , , campaign, activity] = location.pathname.split('/')
  const form = document.getElementById('plan')
  const error = document.getElementById('error')
  const result = document.getElementById('result')
  const number = (name) => Number(form.elements[name].value)
  const show = (id, text) => (document.getElementById(id).textContent = text)

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    error.hidden = true
    try {
      const plan = await h5.api(`/api/v1/campaigns/${campaign}/calculators/${activity}/education-fund`, {
        method: 'POST',
        body: {
          child_age: number('child_age'),
          target_age: number('target_age'),
          target_fen: Math.round(number('target_yuan') * 100),
          savings_fen: Math.round(number('savings_yuan') * 100),
          inflation_bp: Math.round(number('inflation') * 100),
          return_bp: Math.round(number('return') * 100),
        },
      })
      show('years', String(plan.years))
      show('future-cost', h5.yuan(plan.future_cost_fen))
      show('savings-then', h5.yuan(plan.savings_then_fen))
      show('shortfall', h5.yuan(plan.shortfall_fen))
      show('monthly', h5.yuan(plan.monthly_fen))
      show('disclaimer', plan.disclaimer)
      result.hidden = false
    } catch (e) {
      error.textContent = e.message
      error.hidden = false
      result.hidden = true
    }
  })

  h5.share({ title: '教育金计算器', desc: '算一算孩子的教育金，每月该存多少', imgUrl: '' })
    .then((shared) => (document.getElementById('share-hint').hidden = shared))
    .catch(() => {})
})()
