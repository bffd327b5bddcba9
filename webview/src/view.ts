import { describeServerStatus, type ServerStatus } from '../../protocol/serverStatus';

/** Draws the panel's header: title and the telemetry server's state. Idempotent. */
export function renderServerStatus(root: HTMLElement, status: ServerStatus): void {
  let header = root.querySelector<HTMLElement>('header');
  if (!header) {
    header = document.createElement('header');
    const title = document.createElement('h1');
    title.textContent = 'Reactor Timeline';
    title.dataset.testid = 'title';
    const state = document.createElement('p');
    state.dataset.testid = 'server-status';
    header.append(title, state);
    root.prepend(header);
  }
  const state = header.querySelector<HTMLElement>('[data-testid="server-status"]');
  if (state) {
    state.textContent = describeServerStatus(status);
    state.dataset.state = status.state;
  }
}
