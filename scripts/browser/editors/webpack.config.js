// Bundles the browser test's host page: Grafana's shared libraries from
// the project's own node_modules (the versions package.json pins), which
// the host registers with SystemJS under the names a plugin's AMD module
// asks for, as Grafana's plugin loader does.
const path = require('path');
const webpack = require('webpack');

module.exports = (env = {}) => ({
  mode: 'development',
  devtool: false,
  context: __dirname,
  entry: { host: './host.tsx' },
  output: { path: path.resolve(env.out ?? path.join(__dirname, '..', '..', '..', 'test-output', 'browser-host')), filename: '[name].js' },
  resolve: {
    extensions: ['.ts', '.tsx', '.js', '.jsx', '.mjs'],
    modules: [path.resolve(__dirname, '..', '..', '..', 'node_modules')],
    // A legacy editor of @grafana/ui's asks for a package @grafana/ui does
    // not depend on; the plugin never renders it.
    alias: { 'slate-react-placeholder': false },
    fallback: { fs: false, path: false, os: false, crypto: false, stream: false, util: false, buffer: false },
  },
  module: {
    rules: [
      // @grafana/ui's ES modules import CommonJS packages' defaults as
      // Grafana's own build does: with interop, not as strict .mjs.
      { test: /\.m?js$/, type: 'javascript/auto', resolve: { fullySpecified: false } },
      // Monaco's widgets come with their CSS, which Grafana's page injects.
      { test: /\.css$/, use: ['style-loader', 'css-loader'] },
      {
        test: /\.tsx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: { jsc: { target: 'es2020', parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic', development: false } } } },
        },
      },
    ],
  },
  plugins: [new webpack.DefinePlugin({ 'process.env.NODE_ENV': JSON.stringify('production') })],
  optimization: { nodeEnv: false },
  // react-router's compatibility layer probes for exports React 18 lacks.
  ignoreWarnings: [{ module: /react-router-dom-v5-compat/ }],
  performance: { hints: false },
  stats: 'errors-warnings',
});
