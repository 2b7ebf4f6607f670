// greenlight approve | reject <deployment>: the second person of an environment that needs approvals.
import type { Command } from 'commander';
import { clientOf, globals } from '../context.ts';
import { printJson } from '../output.ts';

interface ApprovalView {
  environment: string;
  required: number;
  approvedBy: string[];
  satisfied?: boolean;
}

export function registerApprove(program: Command): void {
  program
    .command('approve <deployment>')
    .description('approve a deployment waiting for approval (not your own); it proceeds once enough people did')
    .option('--comment <text>', 'kept with the approval')
    .action(async function (this: Command, id: string, opts: { comment?: string }) {
      const out = await clientOf(this).request<{ approval: ApprovalView }>('POST', `/v1/deployments/${encodeURIComponent(id)}/approve`, opts.comment ? { comment: opts.comment } : {});
      if (globals(this).json) return printJson(out);
      const a = out.approval;
      console.log(`approved ${id} in ${a.environment} (${a.approvedBy.length} of ${a.required})${a.satisfied ? ': it proceeds' : ''}`);
    });
  program
    .command('reject <deployment>')
    .description('reject a deployment waiting for approval: it stops there, nothing was started in that environment')
    .requiredOption('--reason <text>', 'why (recorded)')
    .action(async function (this: Command, id: string, opts: { reason: string }) {
      const out = await clientOf(this).request<{ approval: ApprovalView }>('POST', `/v1/deployments/${encodeURIComponent(id)}/reject`, { reason: opts.reason });
      if (globals(this).json) return printJson(out);
      console.log(`rejected ${id} in ${out.approval.environment}`);
    });
}
