import { levelLabel, type Level } from '../logic/labels';

/**
 * The level's symbol, drawn in CSS (a no-entry sign for 拦截, a warning triangle for 提醒) so it
 * shows the same on every PC whatever emoji fonts it has.
 */
export function LevelIcon({ level }: { level: Level }) {
  return <span className={`level-icon level-icon--${level}`} aria-hidden="true" />;
}

/** 拦截 / 提醒 with a symbol and a colour: the level must read without the colour. */
export function LevelBadge({ level, large = false }: { level: Level; large?: boolean }) {
  return (
    <span className={`level-badge level-badge--${level}${large ? ' level-badge--large' : ''}`} data-level={level}>
      <LevelIcon level={level} />
      {levelLabel[level]}
    </span>
  );
}
