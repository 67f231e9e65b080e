/**
 * Typed events for the core's services: each service says which events it emits and with what,
 * and a listener gets an unsubscribe function back, so a transport that subscribes per
 * connection cannot forget to let go.
 */
import { EventEmitter } from 'node:events';

export class TypedEvents<Events extends { [Name in keyof Events]: unknown[] }> {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every UI connection subscribes; the default warning at 10 listeners would be noise.
    this.emitter.setMaxListeners(0);
  }

  on<Name extends keyof Events & string>(name: Name, listener: (...args: Events[Name]) => void): () => void {
    this.emitter.on(name, listener as (...args: unknown[]) => void);
    return () => this.emitter.off(name, listener as (...args: unknown[]) => void);
  }

  emit<Name extends keyof Events & string>(name: Name, ...args: Events[Name]): void {
    this.emitter.emit(name, ...args);
  }

  listenerCount(name: keyof Events & string): number {
    return this.emitter.listenerCount(name);
  }
}
