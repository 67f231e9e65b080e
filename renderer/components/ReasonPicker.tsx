import { useRef, type KeyboardEvent } from 'react';
import { flushSync } from 'react-dom';
import type { Finding } from '../../app/core/protocol/messages';
import { reasonMaxLength } from '../logic/choice';
import { commonReasons } from '../logic/reasons';
import { controlAttribute, focusAfterReason } from './focus';
import { useAppStore, useAppStoreApi } from './store-context';

/**
 * The reason for continuing past the warnings of one item (or of the whole order): common
 * reasons as one-click choices (one tab stop; arrow keys move between them, as in a radio
 * group; Enter or Space selects the focused one) and a free-text field. One picker answers
 * all of the item's warnings at once, since a doctor continuing an item has one reason for
 * it; each finding still gets the reason recorded.
 */
export function ReasonPicker({ checkId, findings, testKey }: { checkId: string; findings: Finding[]; testKey: string }) {
  const ids = findings.map((finding) => finding.findingId);
  const firstId = ids[0] ?? '';
  // Shared by construction (setReason writes all ids), so the first one speaks for the group.
  const reason = useAppStore((state) => state.drafts[checkId]?.reasons[firstId] ?? '');
  const setReason = useAppStore((state) => state.setReason);
  const choices = [...new Set(findings.flatMap((finding) => commonReasons(finding.kind)))];
  const chosenIndex = choices.indexOf(reason);
  const group = useRef<HTMLDivElement>(null);
  const missing = reason.trim() === '';
  const labelId = `reason-label-${testKey}`;
  const about = findings.length > 1 ? `适用于本项 ${findings.length} 条提醒` : findings[0]?.title ?? '';

  const store = useAppStoreApi();
  const choose = (value: string) => setReason(ids, value);

  const onGroupKey = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Enter') {
      // Enter on a reason means that reason (never 确认); then on to what still needs the
      // doctor, or to 确认 when nothing does, so Enter, Enter finishes a one-item popup.
      const index = [...(group.current?.querySelectorAll('button') ?? [])].indexOf(event.target as HTMLButtonElement);
      if (index < 0 || event.nativeEvent.isComposing) return;
      event.preventDefault();
      // Rendered before the focus moves: 确认 is disabled until this reason is on screen.
      flushSync(() => choose(choices[index]!));
      focusAfterReason(store.getState(), group.current?.closest('.popup') ?? document);
      return;
    }
    const delta = event.key === 'ArrowRight' || event.key === 'ArrowDown' ? 1 : event.key === 'ArrowLeft' || event.key === 'ArrowUp' ? -1 : 0;
    if (!delta) return;
    event.preventDefault();
    const from = chosenIndex < 0 ? (delta > 0 ? -1 : 0) : chosenIndex;
    const next = (from + delta + choices.length) % choices.length;
    choose(choices[next]!);
    group.current?.querySelectorAll<HTMLButtonElement>('button')[next]?.focus();
  };

  return (
    <div className={`reason${missing ? ' reason--missing' : ''}`} data-testid={`reason-${testKey}`}>
      <div className="reason-label" id={labelId}>
        继续理由
        <span className="reason-about"> ({about})</span>
        <span className="reason-required">{missing ? ' 必填' : ' ✓'}</span>
      </div>
      <div
        className="reason-choices"
        role="radiogroup"
        aria-labelledby={labelId}
        ref={group}
        onKeyDown={onGroupKey}
        {...{ [controlAttribute]: 'choice' }}
      >
        {choices.map((choice, index) => {
          const checked = index === chosenIndex;
          // One tab stop for the group: the chosen reason, or the first when none is chosen.
          const tabbable = chosenIndex < 0 ? index === 0 : checked;
          return (
            <button
              key={choice}
              type="button"
              role="radio"
              aria-checked={checked}
              tabIndex={tabbable ? 0 : -1}
              className={`reason-choice${checked ? ' reason-choice--checked' : ''}`}
              data-testid={`reason-choice-${testKey}-${index}`}
              onClick={() => choose(choice)}
            >
              {choice}
            </button>
          );
        })}
      </div>
      <input
        type="text"
        className="reason-input"
        aria-label="其他理由"
        aria-describedby={labelId}
        placeholder="其他理由, 直接输入"
        maxLength={reasonMaxLength}
        value={chosenIndex >= 0 ? '' : reason}
        data-testid={`reason-input-${testKey}`}
        onChange={(event) => choose(event.target.value)}
      />
    </div>
  );
}
