// A third-party widget that embeds a frame from yet another host.
(function (d) {
  var frame = d.createElement('iframe');
  frame.src = 'https://www.youtube-nocookie.com/embed/abc/';
  (d.body || d.documentElement).appendChild(frame);
})(document);
