// The 3-D Secure challenge page globalpay hosts on itself.

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export function challengePage(authorization_id: string, amount_text: string): string {
  const id = escapeHtml(authorization_id);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>globalpay 3-D Secure</title></head>
<body>
  <h1>Verify your payment</h1>
  <p>Authorization ${id} for ${escapeHtml(amount_text)} needs cardholder authentication.</p>
  <form method="post" action="/3ds/${id}/complete"><button type="submit">Complete authentication</button></form>
  <form method="post" action="/3ds/${id}/fail"><button type="submit">Fail authentication</button></form>
</body>
</html>`;
}
