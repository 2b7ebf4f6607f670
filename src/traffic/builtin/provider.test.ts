// The built-in router passes the traffic-provider contract: in this process, and as the router
// process the controller starts, driven over its admin API.
import { createRouter } from '../../router/router.ts';
import { RouterClient } from '../../router/client.ts';
import { trafficProviderContract } from '../provider.contract.ts';
import { BuiltinProvider } from './provider.ts';

trafficProviderContract('builtin router (in process)', async () => {
  const router = createRouter({ name: 'contract' });
  const addr = await router.listen('127.0.0.1:0');
  return {
    provider: BuiltinProvider.inProcess(router, `http://127.0.0.1:${addr.port}`),
    async close() {
      router.destroyConnections();
      await router.close();
    },
  };
});

trafficProviderContract('builtin router (admin API)', async () => {
  const router = createRouter({ name: 'contract', adminToken: 'contract-token' });
  const addr = await router.listen('127.0.0.1:0');
  const admin = await router.listenAdmin('127.0.0.1:0');
  const client = new RouterClient({ adminUrl: `http://127.0.0.1:${admin.port}`, token: 'contract-token' });
  return {
    provider: new BuiltinProvider(client, `http://127.0.0.1:${addr.port}`),
    async close() {
      router.destroyConnections();
      await router.close();
    },
  };
});
