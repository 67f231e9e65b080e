import { useEffect, useMemo, useRef } from 'react';
import type { PendingView } from '../../app/core/protocol/ui';
import { emptyDraft, evaluateChoice, orderFindings, unflaggedItems } from '../logic/choice';
import { describePatient, describeVisit, describeItemSupply, maskName } from '../logic/format';
import { commandForKey } from '../logic/keyboard';
import { resultHeadline, resultLabel } from '../logic/labels';
import { selectCurrentView } from '../store/store';
import { ChronicPanel } from './ChronicPanel';
import { FindingView } from './FindingView';
import { controlAttribute, focusedCardLine, focusItemCard, itemCards, keyTargetOf } from './focus';
import { ItemCard } from './ItemCard';
import { LevelIcon } from './LevelBadge';
import { ReasonPicker } from './ReasonPicker';
import { useAppStore, useAppStoreApi } from './store-context';

/** The doctor's popup: the oldest pending check (or the one paged to), or a quiet note. */
export function Popup() {
  const view = useAppStore(selectCurrentView);
  if (!view) {
    return (
      <main className="popup popup--empty" data-testid="popup-empty">
        <p>当前没有待处理的医保提醒。</p>
      </main>
    );
  }
  // Keyed by check: a new check starts with fresh focus and scroll.
  return <CheckPopup key={view.id} view={view} />;
}


function CheckPopup({ view }: { view: PendingView }) {
  const store = useAppStoreApi();
  const draft = useAppStore((state) => state.drafts[view.id] ?? emptyDraft);
  const queueLength = useAppStore((state) => state.pending.length);
  const queueIndex = useAppStore((state) => state.pending.findIndex((candidate) => candidate.id === view.id));
  const submitting = useAppStore((state) => state.submitting);
  const decideError = useAppStore((state) => state.decideError);
  const evaluation = useMemo(() => evaluateChoice(view, draft), [view, draft]);
  const wholeOrder = useMemo(() => orderFindings(view), [view]);
  const others = useMemo(() => unflaggedItems(view), [view]);
  const orderReasonFindings = wholeOrder.filter((finding) => evaluation.reasonLines.has(finding.findingId));
  const root = useRef<HTMLElement>(null);

  // Focus lands on the first item that needs the doctor, so the number keys work at once.
  useEffect(() => {
    // The first card in reading order that needs something, not the first finding (blocks sort first).
    const open = new Set(evaluation.problems.map((problem) => problem.line));
    const first = evaluation.items.find((item) => open.has(item.line))?.line ?? evaluation.items[0]?.line;
    if (first) focusItemCard(first, root.current ?? document);
    document.title = `【${resultLabel[view.result]}】RxGate 医保事前提醒`;
    // Only on a new check; later changes to the draft must not pull the focus back.
  }, [view.id]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const command = commandForKey(event, keyTargetOf(event.target));
      if (!command) return;
      event.preventDefault();
      const state = store.getState();
      const evaluationNow = evaluateChoice(view, state.drafts[view.id] ?? emptyDraft);
      const focusedLine = focusedCardLine() ?? state.focusedLines[view.id] ?? evaluationNow.items[0]?.line;
      switch (command.type) {
        case 'pick':
          if (focusedLine) state.pickAction(focusedLine, command.action);
          break;
        case 'confirm':
          void state.decide('proceed').then((accepted) => {
            if (accepted) return;
            const line = evaluateChoice(view, store.getState().drafts[view.id] ?? emptyDraft).problems.find((problem) => problem.line)?.line;
            if (line) focusItemCard(line, root.current ?? document);
          });
          break;
        case 'revise':
          void state.decide('revise');
          break;
        case 'toggleBasis': {
          const item = evaluationNow.items.find((candidate) => candidate.line === focusedLine);
          if (item) state.toggleBasis(item.findings.map((finding) => finding.findingId));
          break;
        }
        case 'moveItem': {
          const cards = itemCards(root.current ?? document);
          const index = cards.findIndex((card) => card.dataset.line === focusedLine);
          const next = cards[Math.min(cards.length - 1, Math.max(0, index + command.delta))];
          if (next?.dataset.line) focusItemCard(next.dataset.line, root.current ?? document);
          break;
        }
        case 'moveCheck':
          state.moveCheck(command.delta);
          break;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store, view]);

  const patient = describePatient(view.patient);
  const visitParts = [view.visit.dept, view.visit.doctor, describeVisit(view.visit), view.visit.date].filter(Boolean);
  const openCount = evaluation.problems.length;

  return (
    <main className={`popup popup--${view.result}`} ref={root} data-testid="popup" data-check-id={view.id}>
      <header className="popup-header">
        <div className="result" data-testid="result" data-result={view.result}>
          {view.result === 'block' || view.result === 'warn' ? <LevelIcon level={view.result} /> : null}
          {resultLabel[view.result]}
        </div>
        <div className="headline">
          <div className="headline-text">{resultHeadline[view.result]}</div>
          <div className="who" data-testid="patient">
            <span className="who-name">{maskName(view.patient.name)}</span>
            {patient ? <span className="who-detail">{patient}</span> : null}
            <span className="who-visit">{visitParts.join(' · ')}</span>
          </div>
        </div>
        {queueLength > 1 ? (
          <nav className="queue" aria-label="待处理队列">
            <button type="button" tabIndex={-1} aria-label="上一个" onClick={() => store.getState().moveCheck(-1)}>
              ‹
            </button>
            <span data-testid="queue-position" title="PageUp / PageDown 切换">
              {queueIndex + 1}/{queueLength}
            </span>
            <button type="button" tabIndex={-1} aria-label="下一个" onClick={() => store.getState().moveCheck(1)}>
              ›
            </button>
          </nav>
        ) : null}
      </header>

      <div className="popup-body">
        {view.chronic && view.chronic.length > 0 ? <ChronicPanel summaries={view.chronic} /> : null}
        {evaluation.items.map((item, index) => (
          <ItemCard key={item.line} checkId={view.id} item={item} position={index + 1} draft={draft} evaluation={evaluation} />
        ))}
        {wholeOrder.length > 0 ? (
          <section className="item item--order" data-testid="order-findings" aria-label="整张处方">
            <header className="item-head">
              <h2 className="item-name">整张处方</h2>
            </header>
            {wholeOrder.map((finding) => (
              <FindingView key={finding.findingId} checkId={view.id} finding={finding} />
            ))}
            {orderReasonFindings.length > 0 ? <ReasonPicker checkId={view.id} findings={orderReasonFindings} testKey="order" /> : null}
          </section>
        ) : null}
        {others.length > 0 ? (
          <section className="others" aria-label="未提示的项目" data-testid="other-items">
            <span className="others-label">其他 {others.length} 项无提示:</span>
            {others.map((item) => (
              <span className="other" key={item.line}>
                {item.name}
                {item.channel === 'selfpay' ? ' (自费)' : ''}
                <span className="other-supply"> {describeItemSupply(item)}</span>
              </span>
            ))}
          </section>
        ) : null}
      </div>

      <footer className="popup-footer">
        <div className={`summary${openCount > 0 || decideError ? ' summary--open' : ''}`} aria-live="polite" data-testid="summary">
          {decideError ? (
            <span className="summary-error" data-testid="decide-error">{decideError}</span>
          ) : openCount > 0 ? (
            <>
              <strong>还需处理 {openCount} 项: </strong>
              {evaluation.problems.slice(0, 2).map((problem) => problem.message).join('; ')}
              {openCount > 2 ? ' …' : ''}
            </>
          ) : (
            <strong>已全部处理, 可以确认</strong>
          )}
        </div>
        <div className="buttons">
          <button
            type="button"
            className="button button--revise"
            data-testid="revise"
            disabled={submitting}
            onClick={() => void store.getState().decide('revise')}
            {...{ [controlAttribute]: 'control' }}
          >
            返回修改 <kbd>Esc</kbd>
          </button>
          <button
            type="button"
            className="button button--confirm"
            data-testid="confirm"
            disabled={!evaluation.canProceed || submitting}
            onClick={() => void store.getState().decide('proceed')}
          >
            确认 <kbd>Enter</kbd>
          </button>
        </div>
        <div className="keys" aria-hidden="true">
          <kbd>1</kbd>转自费 <kbd>2</kbd>删除 <kbd>3</kbd>继续 <kbd>4</kbd>符合限定条件 · <kbd>Tab</kbd>下一项 · <kbd>空格</kbd>政策依据 · <kbd>Enter</kbd>确认 ·{' '}
          <kbd>Esc</kbd>返回修改{queueLength > 1 ? ' · PageUp/PageDown 切换处方' : ''}
        </div>
      </footer>
    </main>
  );
}
