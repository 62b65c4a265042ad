import { describe, expect, it } from 'vitest';
import { getPath } from '../../cluster/kube-get.js';

describe('getPath: which kubectl gets the test process answers itself', () => {
  it('a named object, a list by label, cluster-scoped and all-namespace lists', () => {
    expect(getPath(['-n', 'a', 'pod', 'p-0'])).toEqual({
      path: '/api/v1/namespaces/a/pods/p-0',
      list: false,
    });
    expect(getPath(['-n', 'a', 'pods', '-l', 'kubedb.com/name=x'])).toEqual({
      path: '/api/v1/namespaces/a/pods?labelSelector=kubedb.com%2Fname%3Dx',
      list: true,
    });
    expect(getPath(['statefulset/s', '-n', 'b'])?.path).toBe(
      '/apis/apps/v1/namespaces/b/statefulsets/s',
    );
    expect(getPath(['-n', 'b', 'lease', 'x-primary'])?.path).toBe(
      '/apis/coordination.k8s.io/v1/namespaces/b/leases/x-primary',
    );
    expect(getPath(['nodes'])).toEqual({ path: '/api/v1/nodes', list: true });
    expect(getPath(['pods', '-A'])).toEqual({ path: '/api/v1/pods', list: true });
  });

  it('anything more is left to kubectl', () => {
    expect(getPath(['pods'])).toBeUndefined(); // the kubeconfig's namespace
    expect(getPath(['-n', 'a', 'pods,services'])).toBeUndefined();
    expect(getPath(['-n', 'a', 'pods', '--field-selector', 'x=y'])).toBeUndefined();
    expect(getPath(['-n', 'a', 'widgets'])).toBeUndefined();
    expect(getPath(['-n', 'a', 'pod', 'p', '-l', 'x=y'])).toBeUndefined();
  });
});
