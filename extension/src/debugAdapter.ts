import * as vscode from 'vscode';
import { type AppRunner, type LaunchSpec, type RunningApp, stop } from './run';

export const DEBUG_TYPE = 'reactorscope';

/** A launch.json configuration of type `reactorscope`. */
interface ReactorScopeConfiguration extends vscode.DebugConfiguration, LaunchSpec {}

type Message = { seq: number; type: string; command?: string; arguments?: Record<string, unknown> };

/**
 * A debug adapter that runs the app with the shim and nothing more: output in the Debug Console, stop and
 * restart from the debug toolbar, the exit code in the `exited` event. It speaks just enough of the Debug
 * Adapter Protocol for a process without breakpoints; Python debugging stays with the Python extension.
 */
class ReactorScopeDebugAdapter implements vscode.DebugAdapter {
  private readonly emitter = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.emitter.event;
  private seq = 1;
  private app: RunningApp | undefined;

  constructor(private readonly runner: AppRunner) {}

  private send(message: Record<string, unknown>): void {
    this.emitter.fire({ seq: this.seq++, ...message });
  }

  private respond(request: Message, body: unknown = {}, error?: string): void {
    this.send({ type: 'response', request_seq: request.seq, command: request.command, success: !error, message: error, body });
  }

  private event(event: string, body: unknown = {}): void {
    this.send({ type: 'event', event, body });
  }

  handleMessage(message: vscode.DebugProtocolMessage): void {
    const request = message as Message;
    switch (request.command) {
      case 'initialize':
        this.respond(request, { supportsTerminateRequest: true, supportsConfigurationDoneRequest: true });
        this.event('initialized');
        break;
      case 'launch':
        void this.launch(request);
        break;
      case 'configurationDone':
      case 'setExceptionBreakpoints':
        this.respond(request);
        break;
      case 'threads':
        this.respond(request, { threads: [] });
        break;
      case 'terminate':
      case 'disconnect':
        if (this.app) stop(this.app);
        this.respond(request);
        break;
      default:
        this.respond(request, {}, `${request.command ?? 'this request'} is not supported by Reactor Scope`);
    }
  }

  private async launch(request: Message): Promise<void> {
    const spec = (request.arguments ?? {}) as LaunchSpec;
    try {
      this.app = await this.runner.launch(spec, {
        info: (line) => this.event('output', { category: 'console', output: `${line}\n` }),
        stdout: (output) => this.event('output', { category: 'stdout', output }),
        stderr: (output) => this.event('output', { category: 'stderr', output }),
        exited: (code, problem) => {
          if (problem) this.event('output', { category: 'important', output: `${problem}\n` });
          this.event('exited', { exitCode: code ?? 1 });
          this.event('terminated');
        },
      });
      this.respond(request);
    } catch (error) {
      this.respond(request, {}, error instanceof Error ? error.message : String(error));
      this.event('terminated');
    }
  }

  dispose(): void {
    if (this.app) stop(this.app);
    this.emitter.dispose();
  }
}

/** Fills a bare F5 (no launch.json) with the current file, and refuses a configuration with nothing to run. */
class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    const configuration = config as ReactorScopeConfiguration;
    if (!configuration.type && !configuration.request && !configuration.name) {
      const editor = vscode.window.activeTextEditor;
      if (editor?.document.languageId !== 'python') return undefined;
      return { type: DEBUG_TYPE, request: 'launch', name: 'Reactor Scope: Current File', program: editor.document.uri.fsPath };
    }
    if (!configuration.program && !configuration.module) {
      void vscode.window.showErrorMessage('Reactor Scope: the launch configuration needs "program" (a script) or "module".');
      return undefined;
    }
    return configuration;
  }
}

export function registerDebugger(context: vscode.ExtensionContext, runner: AppRunner): void {
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new ConfigurationProvider()),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
      createDebugAdapterDescriptor: () => new vscode.DebugAdapterInlineImplementation(new ReactorScopeDebugAdapter(runner)),
    }),
  );
}
