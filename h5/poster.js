// A poster's share page: the card and its words, from GET /api/v1/posters/{code}. Path: /h5/posters/{code}.
'use strict'
;(async () => {
  const code = location.pathname.split('/')[3]
  const error = document.getElementById('error')
  try {
    const poster = await h5.api(`/api/v1/posters/${encodeURIComponent(code)}`)
    document.getElementById('title').textContent = poster.activity_name
    document.title = poster.activity_name
    const image = document.getElementById('image')
    image.src = poster.image_url
    await image.decode()
    document.getElementById('text').textContent = poster.text
    document.getElementById('poster').hidden = false
    const shared = await h5
      .share({ title: poster.activity_name, desc: poster.text, imgUrl: new URL(poster.image_url, location.href).href })
      .catch(() => false)
    document.getElementById('share-hint').hidden = shared
  } catch (e) {
    error.textContent = e.message
    error.hidden = false
  }
})()
