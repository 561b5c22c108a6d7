import type { OptimizerSettings } from '@azr/core/spec';
import type { OptimizerState } from '../shared/optimizer-state.js';
import type { TfjsModule } from './runtime.js';
import type { Tensor, Variable } from './variables.js';

/**
 * AdamW over a policy's variables, in place: moments kept as tfjs variables beside the weights, decoupled weight
 * decay on every weight but norms and biases. Its state is the file format both engines share, so a policy saved
 * by one continues training in the other.
 */
export class TfjsAdamW {
  private readonly moments = new Map<string, { first: Variable; second: Variable }>();
  private step = 0;

  constructor(
    private readonly tf: TfjsModule,
    private readonly settings: OptimizerSettings,
    private readonly variables: ReadonlyMap<string, Variable>,
    saved: OptimizerState | undefined,
  ) {
    if (saved === undefined) return;
    this.step = saved.step;
    for (const [name, variable] of variables) {
      const moment = saved.moments.get(name);
      if (moment !== undefined)
        this.moments.set(name, {
          first: tf.variable(tf.tensor(moment.first, variable.shape), false),
          second: tf.variable(tf.tensor(moment.second, variable.shape), false),
        });
    }
  }

  /**
   * One update from gradients keyed by variable name, each scaled by `scale` (global-norm clipping). A variable
   * without a gradient (every sequence was inert) is still decayed, and its moments still move.
   */
  apply(gradients: Readonly<Record<string, Tensor>>, scale: number): void {
    const { tf, settings: optimizer } = this;
    this.step += 1;
    const correction1 = 1 - optimizer.beta1 ** this.step;
    const correction2 = 1 - optimizer.beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, variable] of this.variables) {
        const gradient = gradients[variable.name] ?? tf.zerosLike(variable);
        let moment = this.moments.get(name);
        if (moment === undefined) {
          moment = {
            first: tf.variable(tf.zerosLike(variable), false),
            second: tf.variable(tf.zerosLike(variable), false),
          };
          this.moments.set(name, moment);
        }
        const scaled = tf.mul(gradient, scale);
        moment.first.assign(
          tf.add(tf.mul(moment.first, optimizer.beta1), tf.mul(scaled, 1 - optimizer.beta1)),
        );
        moment.second.assign(
          tf.add(tf.mul(moment.second, optimizer.beta2), tf.mul(tf.square(scaled), 1 - optimizer.beta2)),
        );
        const step = tf.div(
          tf.div(moment.first, correction1),
          tf.add(tf.sqrt(tf.div(moment.second, correction2)), optimizer.epsilon),
        );
        const decayed =
          name.endsWith('norm.weight') || name.endsWith('.bias')
            ? variable
            : tf.mul(variable, 1 - optimizer.learningRate * optimizer.weightDecay);
        variable.assign(tf.sub(decayed, tf.mul(step, optimizer.learningRate)));
      }
    });
  }

  /** The step count and the moments of the weights that have them, for saving. */
  async state(): Promise<OptimizerState> {
    const moments = new Map<
      string,
      { shape: readonly number[]; first: Float32Array; second: Float32Array }
    >();
    for (const [name, variable] of this.variables) {
      const moment = this.moments.get(name);
      if (moment === undefined) continue;
      moments.set(name, {
        shape: variable.shape,
        first: Float32Array.from(await moment.first.data()),
        second: Float32Array.from(await moment.second.data()),
      });
    }
    return { step: this.step, moments };
  }

  dispose(): void {
    for (const moment of this.moments.values()) {
      moment.first.dispose();
      moment.second.dispose();
    }
  }
}
